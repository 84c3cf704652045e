//! Hashing of the liabilities tree: user id commitments, leaves and internal nodes.
//!
//! Everything is built on the Rescue-Prime permutation `Rp64_256` (12 Goldilocks elements,
//! capacity `0..4`, rate `4..12`, digest `4..8`). Each hash starts from a capacity holding a
//! distinct domain tag, so an id commitment, a leaf and an internal node can never be mistaken
//! for one another. Messages are absorbed by overwriting the rate (an overwrite-mode sponge),
//! which keeps every absorbed element visible as-is in the trace.

use winterfell::crypto::hashers::Rp64_256;
use winterfell::math::{fields::f64::BaseElement as Felt, FieldElement, StarkField};

/// Width of the Rescue-Prime state.
pub const STATE_WIDTH: usize = 12;
/// Rounds of one `Rp64_256` permutation.
pub const NUM_ROUNDS: usize = 7;
/// Elements absorbed per permutation.
pub const RATE: usize = 8;
/// A 256-bit digest: four Goldilocks elements.
pub type Digest = [Felt; DIGEST_LEN];
/// Field elements in a digest.
pub const DIGEST_LEN: usize = 4;
/// One Rescue-Prime state.
pub type State = [Felt; STATE_WIDTH];

/// Capacity tag of a leaf (ASCII `stpr/lf` + version byte). The tags are far above the small
/// lengths that winterfell's own `Rp64_256::hash_elements` writes into the capacity.
pub const LEAF_TAG: u64 = u64::from_be_bytes(*b"stpr/lf\x01");
/// Capacity tag of an internal node.
pub const NODE_TAG: u64 = u64::from_be_bytes(*b"stpr/nd\x01");
/// Capacity tag of a user id commitment.
pub const ID_TAG: u64 = u64::from_be_bytes(*b"stpr/id\x01");

/// Entries absorbed together with the id commitment in a leaf's first permutation.
pub const FIRST_BLOCK_ENTRIES: usize = 2;
/// Entries absorbed by each later permutation of a leaf.
pub const BLOCK_ENTRIES: usize = 4;

/// One (asset, amount) entry of a leaf. Assets are numbered from 1; asset 0 marks an empty slot,
/// which always carries amount 0.
pub type Entry = (u32, u64);

/// Number of permutations (trace rows) a leaf with `num_entries` entries takes.
pub const fn leaf_blocks(num_entries: usize) -> usize {
    if num_entries <= FIRST_BLOCK_ENTRIES {
        1
    } else {
        1 + (num_entries - FIRST_BLOCK_ENTRIES).div_ceil(BLOCK_ENTRIES)
    }
}

/// The rate inputs of each permutation of a leaf, in order. The first block holds the id
/// commitment and two entries, each later block four; unused slots are `(0, 0)`.
pub fn leaf_blocks_input(idc: &Digest, entries: &[Entry]) -> Vec<[Felt; RATE]> {
    let blocks = leaf_blocks(entries.len());
    let mut slots = vec![(0u32, 0u64); FIRST_BLOCK_ENTRIES + (blocks - 1) * BLOCK_ENTRIES];
    slots[..entries.len()].copy_from_slice(entries);
    let mut out = Vec::with_capacity(blocks);
    let mut first = [Felt::ZERO; RATE];
    first[..4].copy_from_slice(idc);
    put_entries(&mut first[4..], &slots[..FIRST_BLOCK_ENTRIES]);
    out.push(first);
    for chunk in slots[FIRST_BLOCK_ENTRIES..].chunks(BLOCK_ENTRIES) {
        let mut block = [Felt::ZERO; RATE];
        put_entries(&mut block, chunk);
        out.push(block);
    }
    out
}

fn put_entries(dst: &mut [Felt], entries: &[Entry]) {
    for (pair, &(asset, amount)) in dst.chunks_mut(2).zip(entries) {
        pair[0] = Felt::from(asset);
        pair[1] = Felt::new(amount);
    }
}

/// The initial state of a tagged hash: `[tag, 0, 0, 0]` capacity and the given rate.
pub fn initial_state(tag: u64, rate: &[Felt; RATE]) -> State {
    let mut state = [Felt::ZERO; STATE_WIDTH];
    state[0] = Felt::new(tag);
    state[4..].copy_from_slice(rate);
    state
}

/// Applies the permutation and returns the 8 states it passes through (input, then the output
/// of each round): exactly one trace row's hash columns.
pub fn permutation_states(input: State) -> [State; NUM_ROUNDS + 1] {
    let mut states = [input; NUM_ROUNDS + 1];
    for round in 0..NUM_ROUNDS {
        let mut s = states[round];
        Rp64_256::apply_round(&mut s, round);
        states[round + 1] = s;
    }
    states
}

fn permute(mut state: State) -> State {
    Rp64_256::apply_permutation(&mut state);
    state
}

fn digest_of(state: &State) -> Digest {
    [state[4], state[5], state[6], state[7]]
}

/// The leaf of a user: binds the id commitment and the (asset, amount) entries.
pub fn leaf_digest(idc: &Digest, entries: &[Entry]) -> Digest {
    let blocks = leaf_blocks_input(idc, entries);
    let mut state = permute(initial_state(LEAF_TAG, &blocks[0]));
    for block in &blocks[1..] {
        state[4..].copy_from_slice(block);
        state = permute(state);
    }
    digest_of(&state)
}

/// An internal node of the tree.
pub fn node_digest(left: &Digest, right: &Digest) -> Digest {
    let mut rate = [Felt::ZERO; RATE];
    rate[..4].copy_from_slice(left);
    rate[4..].copy_from_slice(right);
    digest_of(&permute(initial_state(NODE_TAG, &rate)))
}

/// Capacity tags of the byte-string digests bound into the statement.
pub const ASSETS_TAG: u64 = u64::from_be_bytes(*b"stpr/as\x01");
pub const ROUND_TAG: u64 = u64::from_be_bytes(*b"stpr/rd\x01");

/// Commitment to a user's identity: `H_id(salt || user_id)`.
pub fn id_commitment(salt: &[u8; 32], user_id: &[u8]) -> Digest {
    let mut message = Vec::with_capacity(salt.len() + user_id.len());
    message.extend_from_slice(salt);
    message.extend_from_slice(user_id);
    hash_bytes(ID_TAG, &message)
}

/// Digest of a byte string under a domain tag. Bytes are packed seven to an element
/// (little-endian, so every element is below the modulus) after appending a single `0x01`
/// byte, and the byte length sits in the capacity next to the tag: distinct inputs never give
/// the same element sequence. (winterfell's own `Rp64_256::hash` is not used: it panics on
/// some input lengths.)
pub fn hash_bytes(tag: u64, bytes: &[u8]) -> Digest {
    let mut message = Vec::with_capacity(bytes.len() + 1);
    message.extend_from_slice(bytes);
    message.push(1);
    let elements: Vec<Felt> = message
        .chunks(7)
        .map(|chunk| {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            Felt::new(u64::from_le_bytes(buf))
        })
        .collect();
    let mut state = [Felt::ZERO; STATE_WIDTH];
    state[0] = Felt::new(tag);
    state[1] = Felt::new(bytes.len() as u64);
    for block in elements.chunks(RATE) {
        state[4..].fill(Felt::ZERO);
        state[4..4 + block.len()].copy_from_slice(block);
        state = permute(state);
    }
    digest_of(&state)
}

/// All levels of the tree over `leaves` (a power of two), heap-numbered: `tree[1]` is the root,
/// node `i` has children `2i` and `2i + 1`, and leaf `j` sits at `n + j`. `tree[0]` is unused.
pub fn merkle_tree(leaves: &[Digest]) -> Vec<Digest> {
    use rayon::prelude::*;
    let n = leaves.len();
    debug_assert!(n.is_power_of_two() && n >= 2);
    let mut tree = vec![[Felt::ZERO; 4]; 2 * n];
    tree[n..].copy_from_slice(leaves);
    let mut width = n / 2;
    while width >= 1 {
        let (upper, lower) = tree.split_at_mut(2 * width);
        let children = &lower[..2 * width];
        upper[width..]
            .par_iter_mut()
            .enumerate()
            .for_each(|(k, node)| *node = node_digest(&children[2 * k], &children[2 * k + 1]));
        width /= 2;
    }
    tree
}

/// Converts a digest to 32 little-endian bytes (each element in canonical form).
pub fn digest_to_bytes(digest: &Digest) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, e) in out.chunks_mut(8).zip(digest) {
        chunk.copy_from_slice(&e.as_int().to_le_bytes());
    }
    out
}

/// Parses 32 little-endian bytes into a digest; `None` if an element is not canonical.
pub fn digest_from_bytes(bytes: &[u8; 32]) -> Option<Digest> {
    let mut out = [Felt::ZERO; 4];
    for (e, chunk) in out.iter_mut().zip(bytes.chunks(8)) {
        let value = u64::from_le_bytes(chunk.try_into().ok()?);
        if value >= Felt::MODULUS {
            return None;
        }
        *e = Felt::new(value);
    }
    Some(out)
}
