//! The salted vector commitment on its own: openings verify, every tampered part of an opening
//! is refused, salts are reproducible from the seed and only from it, and what an opening
//! shows of an unopened sibling is its salted leaf.

use super::*;
use crate::prover::HashFn;
use winter_utils::SliceReader;
use winterfell::crypto::ElementHasher;
use winterfell::math::fields::f64::BaseElement as Felt;

type Tree = SaltedMerkleTree<HashFn>;
type D = <HashFn as Hasher>::Digest;

const SEED: [u8; 32] = [3; 32];

/// Row digests as winterfell makes them: hashes of rows of field elements.
fn values(n: usize, tweak: u64) -> Vec<D> {
    (0..n as u64).map(|i| HashFn::hash_elements(&[Felt::new(i), Felt::new(tweak), Felt::new(i * i + 7)])).collect()
}

fn tree(seed: [u8; 32], values: Vec<D>) -> Tree {
    with_salt_seed(seed, || Tree::new(values)).unwrap()
}

/// Index sets: singles, siblings, neighbours across subtrees, both ends, and seeded random
/// sets in random order (as winterfell's query positions are not sorted by the prover).
fn index_sets(n: usize) -> Vec<Vec<usize>> {
    let mut sets = vec![vec![0], vec![n - 1], vec![0, 1], vec![1, 0], (0..n).collect()];
    if n > 8 {
        sets.push(vec![2, 5, n - 1]);
    }
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    for _ in 0..40 {
        let k = 1 + (rng.next_u32() as usize) % n.min(30);
        let mut set: Vec<usize> = Vec::new();
        while set.len() < k {
            let i = (rng.next_u32() as usize) % n;
            if !set.contains(&i) {
                set.push(i);
            }
        }
        sets.push(set);
    }
    sets
}

fn flip(bytes: &mut [u8], at: usize) {
    bytes[at] ^= 1;
}

fn flip_digest(d: &D) -> D {
    let mut bytes = d.as_bytes();
    flip(&mut bytes, 0);
    D::read_from_bytes(&bytes).unwrap()
}

#[test]
fn openings_verify_and_survive_serialization() {
    for log_n in [1, 3, 8] {
        let n = 1 << log_n;
        let vals = values(n, 1);
        let t = tree(SEED, vals.clone());
        assert_eq!(t.domain_len(), n);
        for indexes in index_sets(n) {
            let (opened, proof) = t.open_many(&indexes).unwrap();
            assert_eq!(opened, indexes.iter().map(|&i| vals[i]).collect::<Vec<_>>());
            let bytes = proof.to_bytes();
            let read = SaltedBatchProof::<HashFn>::read_from_bytes(&bytes).unwrap();
            assert_eq!(read, proof);
            assert_eq!(Tree::get_multiproof_domain_len(&read), n);
            Tree::verify_many(t.commitment(), &indexes, &opened, &read).unwrap();
        }
        for i in [0, n / 2, n - 1] {
            let (value, path) = t.open(i).unwrap();
            assert_eq!(value, vals[i]);
            let read = SaltedPath::<HashFn>::read_from_bytes(&path.to_bytes()).unwrap();
            assert_eq!(Tree::get_proof_domain_len(&read), n);
            Tree::verify(t.commitment(), i, value, &read).unwrap();
        }
    }
}

#[test]
fn a_changed_salt_value_or_path_node_is_refused() {
    let n = 64;
    let t = tree(SEED, values(n, 1));
    let root = t.commitment();
    for indexes in index_sets(n) {
        let (opened, proof) = t.open_many(&indexes).unwrap();
        for k in 0..indexes.len() {
            let mut bad = proof.clone();
            flip(&mut bad.salts[k], k % SALT_BYTES);
            assert!(Tree::verify_many(root, &indexes, &opened, &bad).is_err(), "salt {k} of {indexes:?}");

            let mut bad_values = opened.clone();
            bad_values[k] = flip_digest(&bad_values[k]);
            assert!(Tree::verify_many(root, &indexes, &bad_values, &proof).is_err(), "value {k} of {indexes:?}");
        }
        for (j, nodes) in proof.paths.nodes.iter().enumerate() {
            for (m, node) in nodes.iter().enumerate() {
                let mut bad = proof.clone();
                bad.paths.nodes[j][m] = flip_digest(node);
                assert!(Tree::verify_many(root, &indexes, &opened, &bad).is_err(), "node {j}.{m} of {indexes:?}");
            }
        }
        if indexes.len() > 1 {
            // salts swapped between two opened leaves: each leaf needs its own
            let mut bad = proof.clone();
            bad.salts.swap(0, 1);
            assert!(Tree::verify_many(root, &indexes, &opened, &bad).is_err());
        }
        // a salt missing or extra
        let mut short = proof.clone();
        short.salts.pop();
        assert!(matches!(Tree::verify_many(root, &indexes, &opened, &short), Err(HidingError::SaltCount { .. })));
        let mut long = proof.clone();
        long.salts.push([0; SALT_BYTES]);
        assert!(matches!(Tree::verify_many(root, &indexes, &opened, &long), Err(HidingError::SaltCount { .. })));
        // another root
        assert!(Tree::verify_many(flip_digest(&root), &indexes, &opened, &proof).is_err());
    }
    // single openings
    let (value, path) = t.open(5).unwrap();
    let mut bad = path.clone();
    flip(&mut bad.salt, 31);
    assert!(Tree::verify(root, 5, value, &bad).is_err());
    assert!(Tree::verify(root, 5, flip_digest(&value), &path).is_err());
    assert!(Tree::verify(root, 4, value, &path).is_err());
    for m in 0..path.path.len() {
        let mut bad = path.clone();
        bad.path[m] = flip_digest(&bad.path[m]);
        assert!(Tree::verify(root, 5, value, &bad).is_err(), "node {m}");
    }
    let empty = SaltedPath::<HashFn> { salt: path.salt, path: vec![] };
    assert!(matches!(Tree::verify(root, 0, value, &empty), Err(HidingError::PathLength(0))));
    assert!(Tree::verify(root, n, value, &path).is_err());
}

#[test]
fn the_unsalted_leaf_does_not_open_a_salted_tree() {
    // the verifier must not accept winterfell's plain opening of the same values
    let vals = values(16, 1);
    let plain = MerkleTree::<HashFn>::new(vals.clone()).unwrap();
    let t = tree(SEED, vals.clone());
    assert_ne!(plain.root(), &t.commitment());
    let (_, paths) = plain.prove_batch(&[3, 9]).unwrap();
    let proof = SaltedBatchProof { salts: vec![[0; SALT_BYTES]; 2], paths };
    assert!(Tree::verify_many(t.commitment(), &[3, 9], &[vals[3], vals[9]], &proof).is_err());
}

#[test]
fn salts_come_from_the_seed_and_only_from_it() {
    let n = 256;
    let a = tree(SEED, values(n, 1));
    let again = tree(SEED, values(n, 1));
    let other = tree([4; 32], values(n, 1));
    assert_eq!(a.commitment(), again.commitment());
    assert_eq!(a.leaves(), again.leaves());
    assert_ne!(a.commitment(), other.commitment());
    for i in 0..n {
        assert_eq!(a.salt(i), again.salt(i));
        assert_ne!(a.salt(i), other.salt(i), "leaf {i}");
        assert_ne!(a.leaves()[i], other.leaves()[i], "leaf {i}");
        // the leaf is exactly H(salt ‖ value)
        assert_eq!(a.leaves()[i], salted_leaf::<HashFn>(&a.salt(i), &values(n, 1)[i]));
    }
    // salts within a tree are distinct, and so are the salts of the next tree in the scope
    let (first, second) = with_salt_seed(SEED, || (Tree::new(values(n, 1)).unwrap(), Tree::new(values(n, 1)).unwrap()));
    assert_eq!(first.commitment(), a.commitment());
    let mut all: Vec<Salt> = (0..n).map(|i| first.salt(i)).chain((0..n).map(|i| second.salt(i))).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 2 * n);
    assert_ne!(first.commitment(), second.commitment());
    // the salt stream seeks: a salt read alone is the one the chunked fill produced
    let big = tree(SEED, values(4 * CHUNK, 2));
    for i in [0, CHUNK - 1, CHUNK, 2 * CHUNK + 17, 4 * CHUNK - 1] {
        assert_eq!(big.leaves()[i], salted_leaf::<HashFn>(&big.salt(i), &values(4 * CHUNK, 2)[i]));
    }
}

#[test]
fn a_salt_seed_is_needed_and_scopes_nest() {
    assert!(matches!(Tree::new(values(8, 1)), Err(HidingError::NoSaltSeed)));
    let (first, inner, second) = with_salt_seed(SEED, || {
        let first = Tree::new(values(8, 1)).unwrap();
        let inner = with_salt_seed([4; 32], || Tree::new(values(8, 1)).unwrap());
        (first, inner, Tree::new(values(8, 1)).unwrap())
    });
    // the inner scope neither saw nor advanced the outer one
    let (plain_first, plain_second) =
        with_salt_seed(SEED, || (Tree::new(values(8, 1)).unwrap(), Tree::new(values(8, 1)).unwrap()));
    assert_eq!(first.commitment(), plain_first.commitment());
    assert_eq!(second.commitment(), plain_second.commitment());
    assert_eq!(inner.commitment(), tree([4; 32], values(8, 1)).commitment());
    // and the scope ends with its closure, also when it panics
    assert!(matches!(Tree::new(values(8, 1)), Err(HidingError::NoSaltSeed)));
    let caught = std::panic::catch_unwind(|| with_salt_seed(SEED, || panic!("inside")));
    assert!(caught.is_err());
    assert!(matches!(Tree::new(values(8, 1)), Err(HidingError::NoSaltSeed)));
}

#[test]
fn a_sibling_shows_only_its_salted_leaf() {
    // open leaf 0: leaf 1 is unopened, and the proof carries its leaf as a sibling
    let vals = values(8, 1);
    let a = tree(SEED, vals.clone());
    let b = tree([4; 32], vals.clone());
    let sibling_of = |t: &Tree| {
        let (_, proof) = t.open_many(&[0]).unwrap();
        assert_eq!(proof.salts, vec![t.salt(0)]);
        proof.paths.nodes[0][0]
    };
    let (sa, sb) = (sibling_of(&a), sibling_of(&b));
    // it is H(salt_1 ‖ v_1), never v_1 itself, and it changes with the salt alone
    assert_eq!(sa, salted_leaf::<HashFn>(&a.salt(1), &vals[1]));
    assert_ne!(sa, vals[1]);
    assert_ne!(sa, sb);
    // under one seed the salts are fixed, so the same row gives the same sibling (the tree
    // still binds the value: another row under the same salt gives another leaf)
    let mut changed = vals.clone();
    changed[1] = values(8, 2)[1];
    assert_eq!(sibling_of(&tree(SEED, vals.clone())), sa);
    assert_ne!(sibling_of(&tree(SEED, changed)), sa);
    // the opened leaf's salt says nothing checkable about the sibling's
    assert_ne!(a.salt(0), a.salt(1));
}

#[test]
fn malformed_openings_are_refused_when_read() {
    let t = tree(SEED, values(32, 1));
    let (_, proof) = t.open_many(&[1, 7, 30]).unwrap();
    let bytes = proof.to_bytes();
    // each salt costs its 32 bytes plus the count, nothing else
    assert_eq!(bytes.len(), proof.paths.to_bytes().len() + 1 + 3 * SALT_BYTES);
    for cut in [0, 1, 40, bytes.len() - 1] {
        assert!(SaltedBatchProof::<HashFn>::read_from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // a count far beyond the bytes sent fails without allocating for it
    let mut huge = Vec::new();
    huge.write_usize(1 << 40);
    huge.extend_from_slice(&bytes[1..]);
    assert!(SaltedBatchProof::<HashFn>::read_from_bytes(&huge).is_err());
    let mut reader = SliceReader::new(&bytes);
    assert_eq!(SaltedBatchProof::<HashFn>::read_from(&mut reader).unwrap(), proof);
    // a depth no tree has claims no domain
    let mut deep = proof.clone();
    deep.paths.depth = 200;
    assert_eq!(Tree::get_multiproof_domain_len(&deep), 0);
}
