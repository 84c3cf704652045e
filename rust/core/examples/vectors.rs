//! Prints the inclusion test vectors that both verifiers (Rust and `stark_por/verifiers/pyverify.py`)
//! are checked against:
//!
//! ```text
//! cargo run -q -p stark-por-core --example vectors > tests/vectors/inclusion.json
//! ```
//!
//! Digests are hex of their 32-byte encoding (four little-endian canonical elements); entries
//! are `[asset index (1-based), amount in smallest units]`. Inputs come from a fixed
//! pseudo-random sequence, so the file is reproducible.

use stark_por_core::inclusion::{compute_leaf, path_from_tree, walk_path};
use stark_por_core::user_commitment;
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
    println!("  \"paths\": {}", list(paths, "  "));
    println!("}}");
}
