//! Prints the inclusion test vectors that every verifier (Rust, the Python API and
//! `stark_por/verifiers/pyverify.py`) is checked against:
//!
//! ```text
//! cargo run -q -p stark-por-core --example vectors > tests/vectors/inclusion.json
//! ```
//!
//! Digests are hex of their 32-byte encoding (four little-endian canonical elements); entries
//! are `[asset index (1-based), amount in smallest units]`. Inputs come from a fixed
//! pseudo-random sequence, so the file is reproducible. `fingerprints` are published summaries
//! (the fields of `ROUND.stpor.json`) with their statement fingerprint; `checks` are whole
//! inclusion proofs, each with the user checking it, the summary it is checked against, the
//! fingerprint that user was given (or null) and the outcome (`null` for included, else the
//! reason code).

use stark_por_core::inclusion::{
    compute_leaf, path_from_tree, verify_inclusion, walk_path, Anchor, Expected, InclusionEntry, InclusionProof,
    INCLUSION_VERSION,
};
use stark_por_core::statement::Summary;
use stark_por_core::{user_commitment, Asset};
use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, merkle_tree, node_digest, Digest};
use winterfell::crypto::hashers::Rp64_256;
use winterfell::math::{fields::f64::BaseElement as Felt, StarkField};

/// splitmix64: a fixed sequence of test inputs.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        out
    }

    fn digest(&mut self) -> Digest {
        [0; 4].map(|_| Felt::new(self.next() % Felt::MODULUS))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn d(digest: &Digest) -> String {
    format!("\"{}\"", hex(&digest_to_bytes(digest)))
}

fn list(items: impl IntoIterator<Item = String>, indent: &str) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[\n{indent}  {}\n{indent}]", items.join(&format!(",\n{indent}  ")))
}

fn summary_json(s: &Summary) -> String {
    let assets: Vec<String> = s
        .assets
        .iter()
        .zip(&s.totals)
        .map(|(a, t)| {
            let total = t.iter().rev().fold(Vec::<u32>::new(), |digits, &byte| times_256_plus(digits, byte));
            let text: String = if total.is_empty() { "0".into() } else { total.iter().rev().map(|d| d.to_string()).collect() };
            format!("{{\"asset\": {}, \"decimals\": {}, \"total_units\": \"{text}\"}}", quoted(&a.name), a.decimals)
        })
        .collect();
    format!(
        "{{\"statement_version\": 1, \"fingerprint\": \"{}\", \"round_id\": {}, \"range_bits\": {}, \"num_leaves\": {}, \"root\": \"{}\", \"assets\": [{}]}}",
        hex(&s.fingerprint()),
        quoted(&s.round_id),
        s.range_bits,
        s.num_leaves,
        hex(&s.root),
        assets.join(", ")
    )
}

/// Decimal digits (least significant first) of `digits · 256 + byte`: totals of any size.
fn times_256_plus(digits: Vec<u32>, byte: u8) -> Vec<u32> {
    let mut out = Vec::with_capacity(digits.len() + 3);
    let mut carry = byte as u32;
    for d in digits {
        let v = d * 256 + carry;
        out.push(v % 10);
        carry = v / 10;
    }
    while carry > 0 {
        out.push(carry % 10);
        carry /= 10;
    }
    out
}

fn asset(name: &str, decimals: u8) -> Asset {
    Asset { name: name.into(), decimals }
}

/// Published summaries of several shapes, each with its fingerprint.
fn fingerprints(seq: &mut Sequence) -> Vec<String> {
    let root = |seq: &mut Sequence| digest_to_bytes(&seq.digest());
    let many: Vec<Asset> = (0..40).map(|k| asset(&format!("A{k:02}"), (k % 31) as u8)).collect();
    let summaries = [
        // one asset, total 0 (an empty total)
        Summary { round_id: "r".into(), range_bits: 62, num_leaves: 2, root: root(seq), assets: vec![asset("BTC", 8)], totals: vec![vec![]] },
        // the demo's shape: a few assets, totals of a real round
        Summary {
            round_id: "2026-11".into(),
            range_bits: 62,
            num_leaves: 1 << 20,
            root: root(seq),
            assets: vec![asset("BTC", 8), asset("ETH", 18), asset("USDT", 6), asset("DOGE", 8)],
            totals: vec![
                2_100_000_000_000_000u64.to_le_bytes().to_vec(),
                1u64.to_le_bytes().to_vec(),
                (u64::MAX).to_le_bytes().to_vec(),
                vec![0x80],
            ],
        },
        // totals above 2^64 (up to what 2^40 leaves of 2^63 give), and one above 2^128
        Summary {
            round_id: "totals-above-2^64".into(),
            range_bits: 63,
            num_leaves: 1 << 40,
            root: root(seq),
            assets: vec![asset("ETH", 18), asset("SHIB", 0), asset("BIG", 30)],
            totals: vec![
                ((1u128 << 64) + 1).to_le_bytes().to_vec(),
                ((1u128 << 103) - (1u128 << 40)).to_le_bytes().to_vec(),
                [vec![0xFF; 20], vec![0x01]].concat(),
            ],
        },
        // the longest round id (256 bytes, multi-byte characters) and 40 assets
        Summary {
            round_id: format!("{}{}", "é".repeat(100), "r".repeat(56)),
            range_bits: 32,
            num_leaves: 4,
            root: root(seq),
            assets: many.clone(),
            totals: (0..many.len()).map(|k| seq.next().to_le_bytes()[..k % 9].to_vec()).collect(),
        },
    ];
    summaries
        .iter()
        .map(|s| {
            s.validate().expect("a vector summary is valid");
            summary_json(s)
        })
        .collect()
}

/// Whole inclusion proofs of a round of 4 users and 5 assets, checked by a user against a
/// summary: the included case and one case per reason a user's check can give.
fn checks(seq: &mut Sequence) -> Vec<String> {
    let assets = vec![asset("BTC", 8), asset("ETH", 18), asset("USDT", 6), asset("DOGE", 8), asset("SHIB", 0)];
    let users: [(&str, Vec<(u32, u64)>); 4] = [
        ("alice", vec![(1, 50_000_000), (2, 2_000_000_000_000_000_000)]),
        ("bob", vec![(4, 500_000_000)]), // 5 DOGE
        ("carol", vec![(5, 1)]),        // 1 SHIB (0 decimals)
        ("dave", vec![]),
    ];
    let salts: Vec<[u8; 32]> = users.iter().map(|_| seq.bytes32()).collect();
    let leaves: Vec<Digest> = users
        .iter()
        .zip(&salts)
        .map(|((id, entries), salt)| digest_from_bytes(&compute_leaf(id, salt, entries)).expect("canonical"))
        .collect();
    let tree = merkle_tree(&leaves);
    let root = digest_to_bytes(&tree[1]);
    let proof = |u: usize| InclusionProof {
        version: INCLUSION_VERSION,
        round_id: "vectors-round".into(),
        user_id: users[u].0.into(),
        salt: salts[u],
        entries: users[u]
            .1
            .iter()
            .map(|&(k, amount)| {
                let a = &assets[k as usize - 1];
                InclusionEntry { asset: a.name.clone(), index: k, decimals: a.decimals, amount: amount.into() }
            })
            .collect(),
        leaf_index: u as u64,
        num_leaves: 4,
        leaf: digest_to_bytes(&tree[4 + u]),
        root,
        path: path_from_tree(&tree, u as u64).iter().map(digest_to_bytes).collect(),
    };
    let totals = vec![
        50_000_000u64.to_le_bytes().to_vec(),
        2_000_000_000_000_000_000u64.to_le_bytes().to_vec(),
        vec![],
        500_000_000u64.to_le_bytes().to_vec(),
        vec![1],
    ];
    let summary = Summary { round_id: "vectors-round".into(), range_bits: 62, num_leaves: 4, root, assets: assets.clone(), totals };
    let published = summary.fingerprint();
    let mut other_total = summary.clone();
    other_total.totals[0] = 49_999_999u64.to_le_bytes().to_vec(); // alice's BTC left out
    let mut other_root = summary.clone();
    other_root.root = digest_to_bytes(&tree[2]);
    let mut other_round = summary.clone();
    other_round.round_id = "another-round".into();

    let relabel = |mut p: InclusionProof, k: usize, name: &str, decimals: u8| {
        p.entries[k].asset = name.into();
        p.entries[k].decimals = decimals;
        p
    };
    let mut more = proof(0);
    more.entries[0].amount += 1;
    let cases: Vec<(&str, InclusionProof, &Summary, Option<[u8; 32]>)> = vec![
        ("alice", proof(0), &summary, Some(published)),
        ("bob", proof(1), &summary, None),
        ("carol", proof(2), &summary, Some(published)),
        ("dave", proof(3), &summary, None),
        ("bob", proof(0), &summary, None),                        // alice's proof checked by bob
        ("alice", proof(0), &other_total, Some(published)),       // a summary with a total changed
        ("bob", relabel(proof(1), 0, "BTC", 8), &summary, Some(published)), // 5 DOGE shown as 5 BTC
        ("carol", relabel(proof(2), 0, "BTC", 0), &summary, None), // 1 SHIB (0 decimals) shown as 1 BTC
        ("alice", relabel(proof(0), 0, "BTC", 0), &summary, None), // 0.5 BTC shown with 0 decimals
        ("alice", proof(0), &other_round, None),
        ("alice", proof(0), &other_root, None),
        ("alice", more, &summary, None),
    ];
    cases
        .into_iter()
        .map(|(user, p, s, fingerprint)| {
            let expected = Expected { user_id: user, fingerprint };
            let outcome = match verify_inclusion(&p, &Anchor::summary(s), &expected) {
                Ok(()) => "null".to_string(),
                Err(e) => format!("\"{}\"", e.reason()),
            };
            let entries: Vec<String> =
                p.entries.iter().map(|e| format!("[{}, {}, {}, {}]", quoted(&e.asset), e.index, e.decimals, e.amount)).collect();
            format!(
                "{{\"user_id\": {}, \"fingerprint\": {}, \"reason\": {outcome}, \"summary\": {},\n    \"proof\": {{\"round_id\": {}, \"user_id\": {}, \"salt\": \"{}\", \"entries\": [{}], \"leaf_index\": {}, \"num_leaves\": {}, \"leaf\": \"{}\", \"root\": \"{}\", \"path\": [{}]}}}}",
                quoted(user),
                fingerprint.map_or("null".into(), |f| format!("\"{}\"", hex(&f))),
                summary_json(s),
                quoted(&p.round_id),
                quoted(&p.user_id),
                hex(&p.salt),
                entries.join(", "),
                p.leaf_index,
                p.num_leaves,
                hex(&p.leaf),
                hex(&p.root),
                p.path.iter().map(|d| format!("\"{}\"", hex(d))).collect::<Vec<_>>().join(", ")
            )
        })
        .collect()
}

fn main() {
    let mut seq = Sequence(0x5354_5052_2F76_3031); // "STPR/v01"

    // the bare permutation, for debugging a port
    let mut permutations = Vec::new();
    for input in [[0u64; 12], core::array::from_fn(|i| i as u64), core::array::from_fn(|_| seq.next() % Felt::MODULUS)] {
        let mut state = input.map(Felt::new);
        Rp64_256::apply_permutation(&mut state);
        let output = state.map(|x| x.as_int());
        permutations.push(format!("{{\"input\": {input:?}, \"output\": {output:?}}}"));
    }

    // id commitments: salt ‖ id + 0x01 packs into 56 bytes per permutation, so ids of 23 and 24
    // bytes sit on either side of a block boundary; "" is what padding leaves use
    let ids = ["", "a", "alice", "user-000000000000000017", "user-0000000000000000017", "émile 名前 \"q\"", &"x".repeat(256)];
    let mut commitments = Vec::new();
    for id in ids {
        let salt = seq.bytes32();
        commitments.push(format!(
            "{{\"salt\": \"{}\", \"user_id\": {}, \"digest\": {}}}",
            hex(&salt),
            quoted(id),
            d(&user_commitment(&salt, id))
        ));
    }

    // leaves: 0, 1, 2 entries fit the first permutation; 3, 6, 7, 22, 30 need more
    let mut leaves = Vec::new();
    let mut leaf_digests = Vec::new();
    for (k, count) in [0usize, 1, 2, 3, 6, 7, 22, 30].into_iter().enumerate() {
        let user_id = format!("user-{k}");
        let salt = seq.bytes32();
        let step = if count > 22 { 7 } else { 10 };
        let entries: Vec<(u32, u64)> = (0..count)
            .map(|e| {
                let asset = 1 + (e as u32) * step;
                let amount = match e % 4 {
                    0 => 1 + seq.next() % 1_000_000,
                    1 => (1 << 63) - 1,
                    2 => 1,
                    _ => 1 + seq.next() % (1 << 62),
                };
                (asset, amount)
            })
            .collect();
        let leaf = compute_leaf(&user_id, &salt, &entries);
        leaf_digests.push(digest_from_bytes(&leaf).expect("a digest is canonical"));
        let entries_json: Vec<String> = entries.iter().map(|(a, m)| format!("[{a}, {m}]")).collect();
        leaves.push(format!(
            "{{\"user_id\": {}, \"salt\": \"{}\", \"idc\": {}, \"entries\": [{}], \"leaf\": \"{}\"}}",
            quoted(&user_id),
            hex(&salt),
            d(&user_commitment(&salt, &user_id)),
            entries_json.join(", "),
            hex(&leaf)
        ));
    }

    let mut nodes = Vec::new();
    for _ in 0..4 {
        let (left, right) = (seq.digest(), seq.digest());
        nodes.push(format!("{{\"left\": {}, \"right\": {}, \"digest\": {}}}", d(&left), d(&right), d(&node_digest(&left, &right))));
    }

    // a tree of 16 leaves: the 8 leaves above, then 8 arbitrary digests
    let mut tree_leaves = leaf_digests.clone();
    while tree_leaves.len() < 16 {
        tree_leaves.push(seq.digest());
    }
    let tree = merkle_tree(&tree_leaves);
    let mut paths = Vec::new();
    for index in [0u64, 5, 7, 15] {
        let path = path_from_tree(&tree, index);
        assert_eq!(walk_path(&tree[16 + index as usize], index, &path), tree[1]);
        paths.push(format!(
            "{{\"leaf\": {}, \"leaf_index\": {index}, \"path\": [{}], \"root\": {}}}",
            d(&tree[16 + index as usize]),
            path.iter().map(d).collect::<Vec<_>>().join(", "),
            d(&tree[1])
        ));
    }

    println!("{{");
    println!("  \"about\": \"stark-por inclusion hashing vectors, printed by `cargo run -p stark-por-core --example vectors`\",");
    println!("  \"permutations\": {},", list(permutations, "  "));
    println!("  \"id_commitments\": {},", list(commitments, "  "));
    println!("  \"leaves\": {},", list(leaves, "  "));
    println!("  \"nodes\": {},", list(nodes, "  "));
    println!("  \"paths\": {},", list(paths, "  "));
    println!("  \"fingerprints\": {},", list(fingerprints(&mut seq), "  "));
    println!("  \"checks\": {}", list(checks(&mut seq), "  "));
    println!("}}");
}
