//! Prints the inclusion test vectors that every verifier (Rust, the Python API and
//! `stark_por/verifiers/pyverify.py`, the page's `browser.js`) is checked against:
//!
//! ```text
//! cargo run -q -p stark-por-core --example vectors > tests/vectors/inclusion.json
//! cargo run -q -p stark-por-core --example vectors -- v2 > tests/vectors/inclusion_v2.json
//! cargo run -q -p stark-por-core --example vectors -- v3 > tests/vectors/inclusion_v3.json
//! ```
//!
//! The second file holds the vectors of statement version 2 (amounts up to `2^112`, written as
//! decimal strings so that every JSON reader keeps them exact); see [`vectors_v2`]. The third
//! holds those of statement version 3 (margin: entries of a kind, prices, the collateral check);
//! see [`vectors_v3`]. `rust/core/tests/vectors.rs` checks that the files are what these
//! functions give.
//!
//! Digests are hex of their 32-byte encoding (four little-endian canonical elements); entries
//! are `[asset index (1-based), amount in smallest units]`. Inputs come from a fixed
//! pseudo-random sequence, so the file is reproducible. `fingerprints` are published summaries
//! (the fields of `ROUND.stpor.json`) with their statement fingerprint; `checks` are whole
//! inclusion proofs, each with the user checking it, the summary it is checked against, the
//! fingerprint that user was given (or null) and the outcome (`null` for included, else the
//! reason code).

use stark_por_core::inclusion::{
    compute_leaf, path_from_tree, versioned_leaf, versioned_leaf_kinds, verify_inclusion, walk_path, Anchor, Expected, InclusionError,
    InclusionEntry, InclusionProof, INCLUSION_VERSION, INCLUSION_VERSION_2, INCLUSION_VERSION_3,
};
use stark_por_core::statement::{Margin, PriceTerm, Summary, VALUE_UNIT_EXP};
use stark_por_core::{user_commitment, Asset};
use stark_por_liabilities::hash::{Entry, DEBT, EQUITY};
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
    summary_json_as(s, 1)
}

/// The summary JSON of a round of `statement_version`, with its fingerprint.
fn summary_json_as(s: &Summary, statement_version: u16) -> String {
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
        "{{\"statement_version\": {statement_version}, \"fingerprint\": \"{}\", \"round_id\": {}, \"range_bits\": {}, \"num_leaves\": {}, \"root\": \"{}\", \"assets\": [{}]}}",
        hex(&s.fingerprint_as(statement_version)),
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

/// A vector tree: inclusion proofs of its first users, cut from the whole tree.
struct VectorTree<'a> {
    version: u64,
    round_id: &'a str,
    salts: &'a [[u8; 32]],
    tree: Vec<Digest>,
}

impl VectorTree<'_> {
    fn num_leaves(&self) -> u64 {
        (self.tree.len() / 2) as u64
    }

    fn root(&self) -> [u8; 32] {
        digest_to_bytes(&self.tree[1])
    }

    /// User `u`'s proof: `entries` as `(asset index, amount, kind)` over `assets`.
    fn proof(&self, u: usize, user_id: &str, assets: &[Asset], entries: impl IntoIterator<Item = (u32, u128, u32)>) -> InclusionProof {
        let n = self.num_leaves();
        InclusionProof {
            version: self.version,
            round_id: self.round_id.into(),
            user_id: user_id.into(),
            salt: self.salts[u],
            entries: entries
                .into_iter()
                .map(|(k, amount, kind)| {
                    let a = &assets[k as usize - 1];
                    InclusionEntry { asset: a.name.clone(), index: k, decimals: a.decimals, amount, kind }
                })
                .collect(),
            leaf_index: u as u64,
            num_leaves: n,
            leaf: digest_to_bytes(&self.tree[n as usize + u]),
            root: self.root(),
            path: path_from_tree(&self.tree, u as u64).iter().map(digest_to_bytes).collect(),
        }
    }
}

/// One checked case: the user, the fingerprint they hold, the outcome (and, in version 3, the
/// position), the summary and the proof; `entries` are the proof's entries as JSON and
/// `versioned` says whether the proof's JSON names its version (version 1's does not).
#[allow(clippy::too_many_arguments)]
fn case_json(
    user: &str,
    fingerprint: Option<[u8; 32]>,
    outcome: &str,
    position: Option<&str>,
    summary_json: &str,
    p: &InclusionProof,
    versioned: bool,
    entries: &[String],
) -> String {
    format!(
        "{{\"user_id\": {}, \"fingerprint\": {}, \"reason\": {outcome}{}, \"summary\": {summary_json},\n    \"proof\": {{{}\"round_id\": {}, \"user_id\": {}, \"salt\": \"{}\", \"entries\": [{}], \"leaf_index\": {}, \"num_leaves\": {}, \"leaf\": \"{}\", \"root\": \"{}\", \"path\": [{}]}}}}",
        quoted(user),
        fingerprint.map_or("null".into(), |f| format!("\"{}\"", hex(&f))),
        position.map_or(String::new(), |pos| format!(", \"position\": {pos}")),
        if versioned { format!("\"version\": {}, ", p.version) } else { String::new() },
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
}

/// The JSON outcome of a check: `null` when included, else the reason code.
fn outcome<T>(r: &Result<T, InclusionError>) -> String {
    match r {
        Ok(_) => "null".to_string(),
        Err(e) => format!("\"{}\"", e.reason()),
    }
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
        Summary { round_id: "r".into(), range_bits: 62, num_leaves: 2, root: root(seq), assets: vec![asset("BTC", 8)], totals: vec![vec![]], margin: None },
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
            margin: None,
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
            margin: None,
        },
        // the longest round id (256 bytes, multi-byte characters) and 40 assets
        Summary {
            round_id: format!("{}{}", "é".repeat(100), "r".repeat(56)),
            range_bits: 32,
            num_leaves: 4,
            root: root(seq),
            assets: many.clone(),
            totals: (0..many.len()).map(|k| seq.next().to_le_bytes()[..k % 9].to_vec()).collect(),
            margin: None,
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
    let vt = VectorTree { version: INCLUSION_VERSION, round_id: "vectors-round", salts: &salts, tree: merkle_tree(&leaves) };
    let (tree, root) = (&vt.tree, vt.root());
    let proof = |u: usize| vt.proof(u, users[u].0, &assets, users[u].1.iter().map(|&(k, v)| (k, v.into(), EQUITY)));
    let totals = vec![
        50_000_000u64.to_le_bytes().to_vec(),
        2_000_000_000_000_000_000u64.to_le_bytes().to_vec(),
        vec![],
        500_000_000u64.to_le_bytes().to_vec(),
        vec![1],
    ];
    let summary = Summary { round_id: "vectors-round".into(), range_bits: 62, num_leaves: 4, root, assets: assets.clone(), totals, margin: None };
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
            let result = verify_inclusion(&p, &Anchor::summary(s), &Expected { user_id: user, fingerprint });
            let entries: Vec<String> =
                p.entries.iter().map(|e| format!("[{}, {}, {}, {}]", quoted(&e.asset), e.index, e.decimals, e.amount)).collect();
            case_json(user, fingerprint, &outcome(&result), None, &summary_json(s), &p, false, &entries)
        })
        .collect()
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("v2") => print!("{}", vectors_v2()),
        Some("v3") => print!("{}", vectors_v3()),
        _ => print!("{}", vectors_v1()),
    }
}

/// The vectors of `tests/vectors/inclusion.json` (statement version 1), as the file holds them.
pub fn vectors_v1() -> String {
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

    let mut out = String::from("{\n");
    out += "  \"about\": \"stark-por inclusion hashing vectors, printed by `cargo run -p stark-por-core --example vectors`\",\n";
    out += &format!("  \"permutations\": {},\n", list(permutations, "  "));
    out += &format!("  \"id_commitments\": {},\n", list(commitments, "  "));
    out += &format!("  \"leaves\": {},\n", list(leaves, "  "));
    out += &format!("  \"nodes\": {},\n", list(nodes, "  "));
    out += &format!("  \"paths\": {},\n", list(paths, "  "));
    out += &format!("  \"fingerprints\": {},\n", list(fingerprints(&mut seq), "  "));
    out += &format!("  \"checks\": {}\n", list(checks(&mut seq), "  "));
    out += "}\n";
    out
}

// ------------------------------------------------------------------------------------------
// Statement version 2
// ------------------------------------------------------------------------------------------

const MAX_2: u128 = (1 << 112) - 1;
/// 250,000 ETH in wei.
const WHALE_WEI: u128 = 250_000 * 1_000_000_000_000_000_000;

/// Amounts at every boundary of the version-2 entry encoding: dust, around 2^62 (where the
/// amount spills into the second element) and 2^64, an 18-decimal whale, the largest amounts.
const SPECIAL_2: [u128; 13] = [
    1,
    (1 << 62) - 1,
    1 << 62,
    (1 << 62) + 1,
    (1 << 64) - 1,
    1 << 64,
    (1 << 64) + 1,
    5_000_000_000_000_000_000,
    WHALE_WEI,
    8_191 << 62,
    (1 << 100) + 12_345,
    MAX_2 - 1,
    MAX_2,
];

fn entry_json(entries: &[(u32, u128)]) -> String {
    entries.iter().map(|(a, m)| format!("[{a}, \"{m}\"]")).collect::<Vec<_>>().join(", ")
}

fn minimal_le(total: u128) -> Vec<u8> {
    let bytes = total.to_le_bytes();
    let len = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bytes[..len].to_vec()
}

/// Version-2 vectors: each entry's two elements, leaves, summaries with their fingerprints
/// (statement version 2), and whole checks of a round of whales and dust. Leaves, nodes and
/// paths other than the leaf hash are version 1's (tests/vectors/inclusion.json).
pub fn vectors_v2() -> String {
    let mut seq = Sequence(0x5354_5052_2F76_3032); // "STPR/v02"

    // x0 = v mod 2^62, x1 = 2·asset + 2^13·(v >> 62)
    let mut elements = Vec::new();
    for (k, &amount) in SPECIAL_2.iter().enumerate() {
        let asset = [1u32, 2, 11, 4_095][k % 4];
        let [x0, x1] = stark_por_liabilities::hash::Entry::equity(asset, amount).elements();
        elements.push(format!(
            "{{\"asset\": {asset}, \"amount\": \"{amount}\", \"elements\": [\"{}\", \"{}\"]}}",
            x0.as_int(),
            x1.as_int()
        ));
    }

    // leaves of 0, 1, 2 (one permutation), 3, 6, 7, 22 entries; the last asset of the longest
    // is 4,095, the largest a version-2 leaf names
    let mut leaves = Vec::new();
    let mut special = SPECIAL_2.iter().cycle();
    for (k, count) in [0usize, 1, 2, 3, 6, 7, 22].into_iter().enumerate() {
        let user_id = format!("user-{k}");
        let salt = seq.bytes32();
        let entries: Vec<(u32, u128)> = (0..count)
            .map(|e| {
                let asset = if count == 22 && e == 21 { 4_095 } else { 1 + 3 * e as u32 };
                let amount = if e % 3 == 2 {
                    let bits = 1 + seq.next() % 112;
                    (((seq.next() as u128) << 64 | seq.next() as u128) >> (128 - bits)).max(1)
                } else {
                    *special.next().expect("cycle")
                };
                (asset, amount)
            })
            .collect();
        let leaf = versioned_leaf(INCLUSION_VERSION_2, &user_id, &salt, &entries).expect("a valid leaf");
        leaves.push(format!(
            "{{\"user_id\": {}, \"salt\": \"{}\", \"idc\": {}, \"entries\": [{}], \"leaf\": \"{}\"}}",
            quoted(&user_id),
            hex(&salt),
            d(&user_commitment(&salt, &user_id)),
            entry_json(&entries),
            hex(&leaf)
        ));
    }

    let mut out = String::from("{\n");
    out += "  \"about\": \"stark-por inclusion vectors of statement version 2, printed by `cargo run -p stark-por-core --example vectors -- v2`\",\n";
    out += &format!("  \"entry_elements\": {},\n", list(elements, "  "));
    out += &format!("  \"leaves\": {},\n", list(leaves, "  "));
    out += &format!("  \"fingerprints\": {},\n", list(fingerprints_v2(&mut seq), "  "));
    out += &format!("  \"checks\": {}\n", list(checks_v2(&mut seq), "  "));
    out += "}\n";
    out
}

/// Version-2 summaries: the bound of 112 bits, totals beyond 2^128, and one set of fields read
/// under both statement versions (two fingerprints).
fn fingerprints_v2(seq: &mut Sequence) -> Vec<String> {
    let root = |seq: &mut Sequence| digest_to_bytes(&seq.digest());
    let many: Vec<Asset> = (0..40).map(|k| asset(&format!("T{k:02}"), (k % 31) as u8)).collect();
    // 2^20 users each holding 2^112 − 1: 2^132 − 2^20
    let huge = {
        let mut t = (1u64 << 20).wrapping_neg().to_le_bytes().to_vec();
        t.extend_from_slice(&u64::MAX.to_le_bytes());
        t.push(0x0f);
        t
    };
    let both = Summary {
        round_id: "both-versions".into(),
        range_bits: 62,
        num_leaves: 8,
        root: root(seq),
        assets: vec![asset("BTC", 8)],
        totals: vec![minimal_le(21_000_000 * 100_000_000)],
        margin: None,
    };
    let summaries = [
        (Summary { round_id: "r".into(), range_bits: 112, num_leaves: 2, root: root(seq), assets: vec![asset("ETH", 18)], totals: vec![vec![]], margin: None }, 2),
        (
            Summary {
                round_id: "2026-12 W3".into(),
                range_bits: 112,
                num_leaves: 1 << 20,
                root: root(seq),
                assets: vec![asset("BTC", 8), asset("ETH", 18), asset("USDT", 6), asset("SHIB", 18)],
                totals: vec![minimal_le(4_321 * 100_000_000 + 7), minimal_le(3 * WHALE_WEI + 1), minimal_le((1 << 64) + 1), huge],
                margin: None,
            },
            2,
        ),
        (
            Summary {
                round_id: format!("{}{}", "é".repeat(100), "r".repeat(56)),
                range_bits: 32,
                num_leaves: 1 << 40,
                root: root(seq),
                assets: many.clone(),
                totals: (0..many.len()).map(|k| seq.bytes32()[..k % 17].to_vec()).collect(),
                margin: None,
            },
            2,
        ),
        (both.clone(), 1),
        (both, 2),
    ];
    summaries
        .iter()
        .map(|(s, version)| {
            s.validate_as(*version).expect("a vector summary is valid");
            summary_json_as(s, *version)
        })
        .collect()
}

/// Whole inclusion proofs of a version-2 round of 6 users (8 leaves) over 5 assets: each user
/// included, and one case per reason a user's check can give.
fn checks_v2(seq: &mut Sequence) -> Vec<String> {
    let assets = vec![asset("BTC", 8), asset("ETH", 18), asset("USDT", 6), asset("SHIB", 18), asset("XRP", 6)];
    let users: [(&str, Vec<(u32, u128)>); 6] = [
        ("whale", vec![(1, 12_345_678_901), (2, WHALE_WEI), (3, (1 << 64) + 1)]),
        ("shib-max", vec![(4, MAX_2), (5, 1 << 62)]),
        ("dust", vec![(2, 1), (3, (1 << 62) - 1), (5, (1 << 64) - 1)]),
        ("alice", vec![(1, 50_000_000), (2, 5_000_000_000_000_000_000)]),
        ("émile 名前", vec![(1, 1), (2, (1 << 62) + 1), (3, 1 << 64), (4, MAX_2 - 1), (5, 7)]),
        ("nobody", vec![]),
    ];
    let n = 8u64;
    let salts: Vec<[u8; 32]> = (0..n).map(|_| seq.bytes32()).collect();
    let leaves: Vec<Digest> = (0..n as usize)
        .map(|j| {
            let (id, entries) = users.get(j).map_or(("", &[][..]), |(id, e)| (*id, e.as_slice()));
            digest_from_bytes(&versioned_leaf(INCLUSION_VERSION_2, id, &salts[j], entries).expect("valid")).expect("canonical")
        })
        .collect();
    let vt = VectorTree { version: INCLUSION_VERSION_2, round_id: "vectors-round-v2", salts: &salts, tree: merkle_tree(&leaves) };
    let (tree, root) = (&vt.tree, vt.root());
    let proof = |u: usize| vt.proof(u, users[u].0, &assets, users[u].1.iter().map(|&(k, v)| (k, v, EQUITY)));
    let totals = (1..=assets.len() as u32)
        .map(|k| minimal_le(users.iter().flat_map(|(_, e)| e).filter(|(a, _)| *a == k).map(|(_, v)| v).sum()))
        .collect();
    let summary = Summary { round_id: "vectors-round-v2".into(), range_bits: 112, num_leaves: n, root, assets: assets.clone(), totals, margin: None };
    let published = summary.fingerprint_as(2);
    let mut other_total = summary.clone();
    other_total.totals[1] = minimal_le(WHALE_WEI - 1); // the whale's ETH left out
    let mut other_root = summary.clone();
    other_root.root = digest_to_bytes(&tree[2]);
    let mut other_round = summary.clone();
    other_round.round_id = "another-round".into();
    // the same round read as a version-1 statement (a bound version 1 allows)
    let mut as_v1 = summary.clone();
    as_v1.range_bits = 63;

    let mut one_more_wei = proof(0);
    one_more_wei.entries[1].amount += 1;
    let mut over_the_bound = proof(1);
    over_the_bound.entries[0].amount = MAX_2 + 1;
    let mut relabelled = proof(0);
    relabelled.entries[1].asset = "SHIB".into(); // 250,000 ETH shown as SHIB (same decimals)
    let mut v1_proof = proof(3);
    v1_proof.version = INCLUSION_VERSION;
    let mut swapped = proof(4);
    swapped.path.swap(0, 2);
    let mut other_salt = proof(2);
    other_salt.salt[5] ^= 0x40;

    // (user checking, proof, summary, its statement version, the fingerprint the user holds)
    type Case<'a> = (&'a str, InclusionProof, &'a Summary, u16, Option<[u8; 32]>);
    let cases: Vec<Case<'_>> = vec![
        ("whale", proof(0), &summary, 2, Some(published)),
        ("shib-max", proof(1), &summary, 2, None),
        ("dust", proof(2), &summary, 2, Some(published)),
        ("alice", proof(3), &summary, 2, None),
        ("émile 名前", proof(4), &summary, 2, Some(published)),
        ("nobody", proof(5), &summary, 2, None),
        ("alice", proof(0), &summary, 2, None),                    // the whale's proof checked by alice
        ("whale", proof(0), &other_total, 2, Some(published)),     // a summary with a total changed
        ("whale", proof(0), &as_v1, 1, None),                      // version 2 against version 1
        ("alice", v1_proof, &summary, 2, None),                    // version 1 against version 2
        ("whale", proof(0), &other_round, 2, None),
        ("whale", proof(0), &other_root, 2, None),
        ("whale", relabelled, &summary, 2, Some(published)),
        ("whale", one_more_wei, &summary, 2, None),
        ("dust", other_salt, &summary, 2, None),
        ("émile 名前", swapped, &summary, 2, None),
        ("shib-max", over_the_bound, &summary, 2, None),
    ];
    cases
        .into_iter()
        .map(|(user, p, s, version, fingerprint)| {
            s.validate_as(version).expect("a vector summary is valid");
            let result = verify_inclusion(&p, &Anchor::summary_as(s, version), &Expected { user_id: user, fingerprint });
            let entries: Vec<String> = p
                .entries
                .iter()
                .map(|e| format!("[{}, {}, {}, \"{}\"]", quoted(&e.asset), e.index, e.decimals, e.amount))
                .collect();
            case_json(user, fingerprint, &outcome(&result), None, &summary_json_as(s, version), &p, true, &entries)
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// Statement version 3 (margin)
// ------------------------------------------------------------------------------------------

fn term(price: &str, haircut: &str) -> Option<PriceTerm> {
    Some(PriceTerm { price: price.into(), haircut: haircut.into() })
}

fn kind_name(kind: u32) -> &'static str {
    if kind == DEBT {
        "debt"
    } else {
        "equity"
    }
}

/// Decimal digits of little-endian bytes of any length.
fn le_digits(le: &[u8]) -> String {
    let total = le.iter().rev().fold(Vec::<u32>::new(), |digits, &byte| times_256_plus(digits, byte));
    if total.is_empty() {
        "0".into()
    } else {
        total.iter().rev().map(|d| d.to_string()).collect()
    }
}

/// The summary JSON of a round of statement version 3 (`summary_json_as`'s fields, then the
/// unit of value and, per asset, the debt total, price and haircut), with its fingerprint;
/// `fingerprint` false leaves it out (a summary out of its domain has none).
fn summary_json_v3(s: &Summary, fingerprint: bool) -> String {
    let m = s.margin.as_ref().expect("a version-3 summary has a margin");
    let assets: Vec<String> = s
        .assets
        .iter()
        .enumerate()
        .map(|(k, a)| {
            let (price, haircut) = match &m.prices[k] {
                Some(t) => (quoted(&t.price), quoted(&t.haircut)),
                None => ("null".into(), "null".into()),
            };
            format!(
                "{{\"asset\": {}, \"decimals\": {}, \"total_units\": \"{}\", \"debt_units\": \"{}\", \"price\": {price}, \"haircut\": {haircut}}}",
                quoted(&a.name),
                a.decimals,
                le_digits(&s.totals[k]),
                le_digits(&m.debt_totals[k])
            )
        })
        .collect();
    let fp = if fingerprint { format!("\"fingerprint\": \"{}\", ", hex(&s.fingerprint_as(3))) } else { String::new() };
    format!(
        "{{\"statement_version\": 3, {fp}\"round_id\": {}, \"range_bits\": {}, \"num_leaves\": {}, \"root\": \"{}\", \"value_unit_exp\": {}, \"assets\": [{}]}}",
        quoted(&s.round_id),
        s.range_bits,
        s.num_leaves,
        hex(&s.root),
        m.unit_exp,
        assets.join(", ")
    )
}

/// Version-3 vectors: entries of both kinds as their two elements, leaves of borrowers,
/// coefficients folded from prices, summaries with their fingerprints, summaries out of their
/// domain, and whole checks of a round of borrowers and debt-free users (with each included
/// user's collateral check).
pub fn vectors_v3() -> String {
    let mut seq = Sequence(0x5354_5052_2F76_3033); // "STPR/v03"

    // a debt's tag is its equity's plus one: x1 = 2·asset + kind + 2^13·(v >> 62)
    let mut elements = Vec::new();
    for (k, &amount) in SPECIAL_2.iter().enumerate() {
        let (asset, kind) = ([1u32, 2, 11, 4_095][k % 4], [DEBT, EQUITY][k % 2]);
        let entry = if kind == DEBT { Entry::debt(asset, amount) } else { Entry::equity(asset, amount) };
        let [x0, x1] = entry.elements();
        elements.push(format!(
            "{{\"asset\": {asset}, \"kind\": \"{}\", \"amount\": \"{amount}\", \"elements\": [\"{}\", \"{}\"]}}",
            kind_name(kind),
            x0.as_int(),
            x1.as_int()
        ));
    }

    // leaves of 1, 2, 3, 6 and 22 entries, equity and debt of the same asset side by side
    let mut leaves = Vec::new();
    let mut special = SPECIAL_2.iter().cycle();
    for (k, count) in [1usize, 2, 3, 6, 22].into_iter().enumerate() {
        let user_id = format!("borrower-{k}");
        let salt = seq.bytes32();
        let entries: Vec<(u32, u128, u32)> = (0..count)
            .map(|e| {
                let asset = if count == 22 && e == 21 { 4_095 } else { 1 + (e as u32 / 2) * 3 };
                (asset, *special.next().expect("cycle"), if e % 2 == 1 || count == 1 { DEBT } else { EQUITY })
            })
            .collect();
        let leaf = versioned_leaf_kinds(INCLUSION_VERSION_3, &user_id, &salt, &entries).expect("a valid leaf");
        let json: Vec<String> = entries.iter().map(|(a, m, kind)| format!("[{a}, \"{m}\", \"{}\"]", kind_name(*kind))).collect();
        leaves.push(format!(
            "{{\"user_id\": {}, \"salt\": \"{}\", \"idc\": {}, \"entries\": [{}], \"leaf\": \"{}\"}}",
            quoted(&user_id),
            hex(&salt),
            d(&user_commitment(&salt, &user_id)),
            json.join(", "),
            hex(&leaf)
        ));
    }

    // prices with many decimals, haircuts 0 and 1, units of value other than 10^-27
    let folds: [(&str, &str, u8, u8); 12] = [
        ("97000.5", "0.05", 8, 27),
        ("3500.123456789", "0.1", 18, 27),
        ("1", "0", 6, 27),
        ("0.000022", "0.5", 18, 27),
        ("0.000000012345678901", "0.333333333333333333333333333333333333", 18, 27),
        ("1.0000001", "1", 6, 27),
        ("2.47", "0", 0, 27),
        ("123456789.123456789", "0.000000001", 30, 27),
        ("0.1", "0.9", 8, 18),
        ("65000", "0.15", 8, 0),
        ("0.00000001", "0", 30, 40),
        ("247000000", "0.01", 8, 27),
    ];
    let coefficients: Vec<String> = folds
        .iter()
        .map(|&(price, haircut, decimals, unit_exp)| {
            let margin = Margin { unit_exp, prices: vec![term(price, haircut)], debt_totals: vec![vec![]] };
            let p = margin.coefficients(&[asset("X", decimals)]).expect("a vector price is in range");
            format!(
                "{{\"price\": \"{price}\", \"haircut\": \"{haircut}\", \"decimals\": {decimals}, \"unit_exp\": {unit_exp}, \"collateral\": \"{}\", \"debt\": \"{}\"}}",
                p.collateral[0], p.debt[0]
            )
        })
        .collect();

    let mut out = String::from("{\n");
    out += "  \"about\": \"stark-por inclusion vectors of statement version 3 (margin), printed by `cargo run -p stark-por-core --example vectors -- v3`\",\n";
    out += &format!("  \"entry_elements\": {},\n", list(elements, "  "));
    out += &format!("  \"leaves\": {},\n", list(leaves, "  "));
    out += &format!("  \"coefficients\": {},\n", list(coefficients, "  "));
    out += &format!("  \"fingerprints\": {},\n", list(fingerprints_v3(&mut seq), "  "));
    out += &format!("  \"bad_summaries\": {},\n", list(bad_summaries_v3(&mut seq), "  "));
    out += &format!("  \"checks\": {}\n", list(checks_v3(&mut seq), "  "));
    out += "}\n";
    out
}

/// Version-3 summaries: prices with many decimals, haircuts 0 and 1, unpriced assets, debt
/// totals beyond 2^128, another unit of value.
fn fingerprints_v3(seq: &mut Sequence) -> Vec<String> {
    let root = |seq: &mut Sequence| digest_to_bytes(&seq.digest());
    let many: Vec<Asset> = (0..40).map(|k| asset(&format!("M{k:02}"), (k % 31) as u8)).collect();
    let summaries = [
        Summary {
            round_id: "r".into(),
            range_bits: 112,
            num_leaves: 2,
            root: root(seq),
            assets: vec![asset("ETH", 18)],
            totals: vec![vec![]],
            margin: Some(Margin { unit_exp: 27, prices: vec![None], debt_totals: vec![vec![]] }),
        },
        Summary {
            round_id: "2026-12 W3 margin".into(),
            range_bits: 112,
            num_leaves: 1 << 20,
            root: root(seq),
            assets: vec![asset("BTC", 8), asset("ETH", 18), asset("USDT", 6), asset("SHIB", 18), asset("ILLQ", 0)],
            totals: vec![minimal_le(4_321 * 100_000_000 + 7), minimal_le(3 * WHALE_WEI + 1), minimal_le((1 << 64) + 1), minimal_le(MAX_2), minimal_le(10)],
            margin: Some(Margin {
                unit_exp: 27,
                prices: vec![term("97000.5", "0.05"), term("3500.123456789", "0.1"), term("1", "0"), term("0.000022", "0.5"), term("1.5", "1")],
                debt_totals: vec![minimal_le(21 * 100_000_000), minimal_le(WHALE_WEI), vec![], [minimal_le(MAX_2), vec![0x0f]].concat(), vec![]],
            }),
        },
        Summary {
            round_id: format!("{}{}", "é".repeat(100), "r".repeat(56)),
            range_bits: 32,
            num_leaves: 1 << 40,
            root: root(seq),
            assets: many.clone(),
            totals: (0..many.len()).map(|k| seq.bytes32()[..k % 17].to_vec()).collect(),
            margin: Some(Margin {
                unit_exp: 24,
                prices: (0..many.len()).map(|k| if k % 3 == 0 { None } else { term(&format!("0.{}{k}7", "0".repeat(k % 7)), "0.25") }).collect(),
                debt_totals: (0..many.len()).map(|k| if k % 3 == 0 { vec![] } else { seq.bytes32()[..k % 19].to_vec() }).collect(),
            }),
        },
    ];
    summaries
        .iter()
        .map(|s| {
            s.validate_as(3).expect("a vector summary is valid");
            summary_json_v3(s, true)
        })
        .collect()
}

/// Summaries of version 3 out of their domain, each refused as `malformed` by every verifier.
fn bad_summaries_v3(seq: &mut Sequence) -> Vec<String> {
    let base = Summary {
        round_id: "bad".into(),
        range_bits: 112,
        num_leaves: 4,
        root: digest_to_bytes(&seq.digest()),
        assets: vec![asset("BTC", 8), asset("XRP", 0)],
        totals: vec![minimal_le(5), vec![]],
        margin: Some(Margin { unit_exp: 27, prices: vec![term("97000.5", "0.05"), None], debt_totals: vec![minimal_le(2), vec![]] }),
    };
    base.validate_as(3).expect("the base is valid");
    let with = |price: Option<PriceTerm>, debt: Vec<u8>| {
        let mut s = base.clone();
        let m = s.margin.as_mut().expect("margin");
        m.prices[1] = price;
        m.debt_totals[1] = debt;
        s
    };
    let cases = [
        with(None, vec![1]),                      // a debt in an asset without a price
        with(term("2.48", "0"), vec![]),          // a 0-decimal asset above $2.47: d ≥ 2^91
        with(term("0", "0"), vec![]),             // no price is zero
        with(term("1", "1.5"), vec![]),           // a haircut above 1
        with(term("1.50", "0"), vec![]),          // not canonical: a trailing zero
        with(term("01", "0"), vec![]),            // not canonical: a leading zero
        with(term("1e2", "0"), vec![]),           // not a decimal
        with(term("1", "-0.1"), vec![]),          // a sign
        with(term("1", ".5"), vec![]),            // a bare point
        with(term(&format!("0.{}1", "0".repeat(37)), "0"), vec![]), // 39 digits: one more than a price may have
    ];
    cases
        .iter()
        .map(|s| {
            assert!(s.validate_as(3).is_err(), "a bad summary is refused");
            format!("{{\"reason\": \"malformed\", \"summary\": {}}}", summary_json_v3(s, false))
        })
        .collect()
}

/// Whole inclusion proofs of a version-3 round of 8 users over 7 assets: borrowers and
/// debt-free users included (with their collateral check), one exactly at equality, one whose
/// debt is not covered, and one case per reason a user's check can give.
fn checks_v3(seq: &mut Sequence) -> Vec<String> {
    let assets =
        vec![asset("BTC", 8), asset("ETH", 18), asset("USDT", 6), asset("SHIB", 18), asset("ILLQ", 0), asset("XRP", 6), asset("PEPE", 18)];
    // ILLQ counts for nothing as collateral (haircut 1), XRP has no price, PEPE costs 10 units a wei
    let prices = vec![
        term("97000.5", "0.05"),
        term("3500.123456789", "0.1"),
        term("1", "0"),
        term("0.000022", "0.5"),
        term("1.5", "1"),
        None,
        term("0.00000001", "0"),
    ];
    let unit_exp = VALUE_UNIT_EXP;
    let probe = Margin { unit_exp, prices: prices.clone(), debt_totals: vec![vec![]; assets.len()] };
    let coef = probe.coefficients(&assets).expect("vector prices are in range");
    // at equality: BTC collateral worth exactly an ETH debt (c_BTC·e = d_ETH·f)
    let (c, d_eth) = (coef.collateral[0], coef.debt[1]);
    let g = gcd(c, d_eth);
    let (e_btc, f_eth) = (d_eth / g, c / g);
    let (e, y) = (EQUITY, DEBT);
    type User<'a> = (&'a str, Vec<(u32, u128, u32)>); // id, entries (asset, amount, kind)
    let users: [User<'_>; 8] = [
        ("borrower", vec![(1, 50_000_000, e), (2, 5_000_000_000_000_000_000, y), (3, 1_000_000_000, e), (3, 20_000_000_000, y)]),
        ("whale", vec![(1, 12_345_678_901, e), (2, WHALE_WEI, e), (3, (1 << 64) + 1, e)]),
        ("equal", vec![(1, e_btc, e), (2, f_eth, y)]),
        ("shib-max", vec![(4, MAX_2, e), (4, 1 << 100, y), (5, 1 << 62, e), (6, 1 << 64, e), (7, MAX_2, y)]),
        ("dummy", vec![(1, 200_000_000, y), (5, MAX_2, e)]), // 2 BTC owed against an illiquid token (haircut 1)
        ("no-debt", vec![(5, 7, e), (6, (1 << 62) - 1, e)]),
        ("nobody", vec![]),
        ("émile 名前", vec![(1, 1, e), (2, (1 << 62) + 1, e), (3, 1, y), (4, MAX_2 - 1, e), (5, 1, e), (6, 7, e)]),
    ];
    let n = 8u64;
    let salts: Vec<[u8; 32]> = (0..n).map(|_| seq.bytes32()).collect();
    let leaves: Vec<Digest> = users
        .iter()
        .zip(&salts)
        .map(|((id, entries), salt)| digest_from_bytes(&versioned_leaf_kinds(INCLUSION_VERSION_3, id, salt, entries).expect("valid")).expect("canonical"))
        .collect();
    let vt = VectorTree { version: INCLUSION_VERSION_3, round_id: "vectors-round-v3", salts: &salts, tree: merkle_tree(&leaves) };
    let root = vt.root();
    let proof = |u: usize| vt.proof(u, users[u].0, &assets, users[u].1.iter().copied());
    let total = |k: u32, kind: u32| minimal_le(users.iter().flat_map(|(_, e)| e).filter(|&&(a, _, t)| a == k && t == kind).map(|e| e.1).sum());
    let summary = Summary {
        round_id: "vectors-round-v3".into(),
        range_bits: 112,
        num_leaves: n,
        root,
        assets: assets.clone(),
        totals: (1..=assets.len() as u32).map(|k| total(k, EQUITY)).collect(),
        margin: Some(Margin { unit_exp, prices, debt_totals: (1..=assets.len() as u32).map(|k| total(k, DEBT)).collect() }),
    };
    let published = summary.fingerprint_as(3);
    let margin_of = |s: &mut Summary| s.margin.as_mut().expect("margin").clone();
    let mut other_price = summary.clone();
    other_price.margin = Some(Margin { prices: { let mut p = margin_of(&mut other_price).prices; p[1] = term("3500.12345679", "0.1"); p }, ..margin_of(&mut other_price) });
    let mut other_haircut = summary.clone();
    other_haircut.margin = Some(Margin { prices: { let mut p = margin_of(&mut other_haircut).prices; p[0] = term("97000.5", "0.06"); p }, ..margin_of(&mut other_haircut) });
    let mut other_debt = summary.clone();
    other_debt.margin.as_mut().expect("margin").debt_totals[1] = minimal_le(f_eth); // the borrower's ETH debt left out
    let mut other_unit = summary.clone();
    other_unit.margin.as_mut().expect("margin").unit_exp = 26;
    // the same round read as a version-2 statement (no margin)
    let mut as_v2 = summary.clone();
    as_v2.margin = None;

    let mut kind_flipped = proof(0);
    kind_flipped.entries[1].kind = EQUITY; // the borrower's ETH debt shown as equity
    let mut debt_hidden = proof(0);
    debt_hidden.entries.remove(1);
    let mut one_more_debt = proof(2);
    one_more_debt.entries[1].amount += 1;
    let mut as_v2_proof = proof(5);
    as_v2_proof.version = INCLUSION_VERSION_2;
    let mut unsorted = proof(3);
    unsorted.entries.swap(0, 1);
    let mut swapped = proof(7);
    swapped.path.swap(0, 2);
    let mut relabelled = proof(1);
    relabelled.entries[1].asset = "SHIB".into(); // 250,000 ETH shown as SHIB (same decimals)

    // (user checking, proof, summary, its statement version, the fingerprint the user holds)
    type Case<'a> = (&'a str, InclusionProof, &'a Summary, u16, Option<[u8; 32]>);
    let cases: Vec<Case<'_>> = vec![
        ("borrower", proof(0), &summary, 3, Some(published)),
        ("whale", proof(1), &summary, 3, None),
        ("equal", proof(2), &summary, 3, Some(published)),
        ("shib-max", proof(3), &summary, 3, None),
        ("dummy", proof(4), &summary, 3, Some(published)),
        ("no-debt", proof(5), &summary, 3, None),
        ("nobody", proof(6), &summary, 3, Some(published)),
        ("émile 名前", proof(7), &summary, 3, None),
        ("whale", proof(0), &summary, 3, None),                  // the borrower's proof checked by the whale
        ("borrower", proof(0), &other_price, 3, Some(published)), // a price changed
        ("borrower", proof(0), &other_haircut, 3, Some(published)),
        ("borrower", proof(0), &other_debt, 3, Some(published)),  // a debt total changed
        ("borrower", proof(0), &other_unit, 3, Some(published)),  // the unit of value changed
        ("equal", proof(2), &other_unit, 3, None),                // ... and unchecked: valued 10× less, still equal
        ("borrower", proof(0), &other_haircut, 3, None),          // ... and unchecked: still covered
        ("equal", proof(2), &other_haircut, 3, None),             // ... but not at equality
        ("whale", proof(1), &as_v2, 2, None),                      // version 3 against version 2
        ("no-debt", as_v2_proof, &summary, 3, None),               // version 2 against version 3
        ("borrower", kind_flipped, &summary, 3, None),
        ("borrower", debt_hidden, &summary, 3, None),
        ("equal", one_more_debt, &summary, 3, None),
        ("shib-max", unsorted, &summary, 3, None),
        ("émile 名前", swapped, &summary, 3, None),
        ("whale", relabelled, &summary, 3, Some(published)),
    ];
    cases
        .into_iter()
        .map(|(user, p, s, version, fingerprint)| {
            s.validate_as(version).expect("a vector summary is valid");
            let result = verify_inclusion(&p, &Anchor::summary_as(s, version), &Expected { user_id: user, fingerprint });
            let position = match &result {
                Ok(Some(pos)) => format!("{{\"collateral_value\": \"{}\", \"debt_value\": \"{}\"}}", pos.collateral_value, pos.debt_value),
                _ => "null".to_string(),
            };
            let entries: Vec<String> = p
                .entries
                .iter()
                .map(|e| format!("[{}, {}, {}, \"{}\", \"{}\"]", quoted(&e.asset), e.index, e.decimals, kind_name(e.kind), e.amount))
                .collect();
            let summary_json = if version == 3 { summary_json_v3(s, true) } else { summary_json_as(s, version) };
            case_json(user, fingerprint, &outcome(&result), Some(&position), &summary_json, &p, true, &entries)
        })
        .collect()
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
