//! Key derivation from the exchange's master secret. Every value is HMAC-SHA256 keyed by the
//! secret over a labelled, length-prefixed message, so values are independent across labels,
//! rounds and users, and the exchange can regenerate any of them.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Smallest accepted master secret.
pub const MIN_SECRET_BYTES: usize = 16;

fn derive(secret: &[u8], label: &str, round_id: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    for part in [label.as_bytes(), round_id.as_bytes()].into_iter().chain(parts.iter().copied()) {
        mac.update(&(part.len() as u64).to_le_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The salt of a user's id commitment. Changes every round.
pub fn user_salt(secret: &[u8], round_id: &str, user_id: &str) -> [u8; 32] {
    user_salt_bytes(secret, round_id, user_id.as_bytes())
}

/// [`user_salt`] of an id given as its UTF-8 bytes.
pub fn user_salt_bytes(secret: &[u8], round_id: &str, user_id: &[u8]) -> [u8; 32] {
    derive(secret, "stark-por/v1/salt", round_id, &[user_id])
}

/// The salt of padding leaf `index`: its id commitment is a hash nobody can tell from a user's.
pub fn padding_salt(secret: &[u8], round_id: &str, index: u64) -> [u8; 32] {
    derive(secret, "stark-por/v1/padding", round_id, &[&index.to_le_bytes()])
}

/// Sort key placing leaves in the tree: users and padding interleave at random.
pub fn position_key(secret: &[u8], round_id: &str, slot: Slot<'_>) -> [u8; 32] {
    match slot {
        Slot::User(id) => derive(secret, "stark-por/v1/position", round_id, &[b"user", id.as_bytes()]),
        Slot::Padding(i) => derive(secret, "stark-por/v1/position", round_id, &[b"padding", &i.to_le_bytes()]),
    }
}

/// Seed of a round's aggregation proof (formats 4 and 5): its blinding rows and salts. The
/// message is the forest count (u64 little-endian) followed by every forest's commitment, in
/// forest order; the commitments are hiding digests of the forests' totals, so two rounds of
/// different totals never share aggregation randomness.
pub fn aggregation_seed(secret: &[u8], round_id: &str, commitments: &[[u8; 32]]) -> [u8; 32] {
    let mut message = Vec::with_capacity(8 + 32 * commitments.len());
    message.extend_from_slice(&(commitments.len() as u64).to_le_bytes());
    for c in commitments {
        message.extend_from_slice(c);
    }
    derive(secret, "stark-por/v2/aggregation", round_id, &[&message])
}

pub enum Slot<'a> {
    User(&'a str),
    Padding(u64),
}

/// Seed of the blinding rows. It covers the root, which commits to every balance: two different
/// ledgers never share blinding values.
pub fn blinding_seed(secret: &[u8], round_id: &str, root: &[u8; 32]) -> [u8; 32] {
    derive(secret, "stark-por/v1/blinding", round_id, &[root])
}
