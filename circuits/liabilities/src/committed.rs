//! Committed batch totals (statement formats 4 and 5, README §5): what a forest publishes
//! instead of its per-asset part sums, and the one place that says how they are hashed.
//!
//! A forest's totals are the sums of the five parts of its amounts, per tag (version 2: the
//! equity tags `2, 4, …, 2K`; with margin: `2, 3, 4, 5, …, 2K + 1`, equity then debt of each
//! asset). They are absorbed, one tag per permutation, into a sponge whose first capacity is
//! `[TOTALS_TAG, σ₀, σ₁, σ₂]` and whose every rate is `[tag, kind, P₀, …, P₄, σ]` with fresh
//! secret salts `σ`; the commitment is the rate half of the last output,
//! `C = out[4..8]`. The batch trace computes this chain in its last real rows (the rows consume
//! the parts on the asset bus) and publishes `C`; the aggregation proof recomputes every
//! batch's chain from the same openings and sums the parts across batches.
//!
//! Hiding: the salts are `3 + rows` uniform field elements (at least 256 bits) drawn from the
//! forest's totals seed, itself derived from the master secret, so `C` is a random-looking
//! digest to anyone without it. Binding: collision resistance of `Rp64_256`.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use stark_por_solvency::air::Challenges;
use stark_por_solvency::hash::{permutation_states, Digest, State, NUM_ROUNDS, RATE, STATE_WIDTH};
use stark_por_solvency::prover::random_felt;
use stark_por_solvency::BusShape;
use winterfell::math::{fields::f64::BaseElement as Felt, ExtensionOf, FieldElement, ToElements};
use winterfell::Assertion;

use crate::air::{PublicInputs, Statement, ASSET_BUS};
use crate::hash::{DEBT, EQUITY, MAX_ASSETS};
use crate::layout::*;
use crate::margin::MarginInputs;
use crate::CircuitError;

/// Statement versions with committed totals, bound into the transcript: version 2's statement
/// (format 4) and version 3's (format 5).
pub const CIRCUIT_VERSION_COMMITTED: u64 = 4;
pub const CIRCUIT_VERSION_COMMITTED_MARGIN: u64 = 5;

/// Capacity tag of a totals chain.
pub const TOTALS_TAG: u64 = u64::from_be_bytes(*b"stpr/tt\x01");
/// Salt elements in the chain's first capacity, after the tag.
pub const CAP_SALT: usize = 3;
/// Rate positions of a totals row: the tag, its kind, the five part sums, a salt.
pub const RATE_TAG: usize = 0;
pub const RATE_KIND: usize = 1;
pub const RATE_PARTS: usize = 2;
pub const RATE_SALT: usize = RATE_PARTS + PARTS;
const _: () = assert!(RATE_SALT + 1 == RATE);

/// The tags a forest's totals list, in chain order, with their kinds: `(2(a+1), 0)` for every
/// asset `a`, followed in margin rounds by its debt tag `(2(a+1) + 1, 1)`.
pub fn totals_tags(num_assets: usize, margin: bool) -> Vec<(u32, u32)> {
    let mut tags = Vec::with_capacity(num_assets * (1 + margin as usize));
    for a in 1..=num_assets as u32 {
        tags.push((2 * a, EQUITY));
        if margin {
            tags.push((2 * a + 1, DEBT));
        }
    }
    tags
}

/// First tag of the chain, the step between consecutive rows, and the last tag.
pub fn tag_walk(num_assets: usize, margin: bool) -> (u32, u32, u32) {
    let last = 2 * num_assets as u32 + margin as u32;
    (2, if margin { 1 } else { 2 }, last)
}

/// Rows a forest's trace reserves for its totals chain: one per tag.
pub fn reserved_rows(num_assets: usize, margin: bool) -> usize {
    num_assets * (1 + margin as usize)
}

/// The public inputs of a forest whose totals are committed (formats 4 and 5): version 2's
/// (or, with `prices`, version 3's) without any part sum, and the commitment `C`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedInputs {
    pub forest: crate::Forest,
    pub range_bits: u32,
    pub num_assets: usize,
    pub assets_digest: Digest,
    pub round_digest: Digest,
    pub roots: Vec<Digest>,
    pub commitment: Digest,
    /// `Some` in margin rounds (format 5).
    pub prices: Option<crate::Prices>,
}

/// One row of a totals chain: a tag's five part sums (each below `2^57`, a canonical field
/// element) and the row's salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotalsRow {
    pub tag: u32,
    pub kind: u32,
    pub parts: [u64; PARTS],
    pub salt: Felt,
}

/// What opens a forest's commitment: the capacity salt and the rows. Secret: it stays with the
/// prover (work files), never in a round file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsOpening {
    pub cap_salt: [Felt; CAP_SALT],
    pub rows: Vec<TotalsRow>,
}

impl TotalsOpening {
    /// The opening of `parts` (one per tag of [`totals_tags`], in that order) with salts drawn
    /// from `seed`.
    pub fn new(parts: &[[u64; PARTS]], margin: bool, seed: [u8; 32]) -> Self {
        let tags = totals_tags(parts.len() / (1 + margin as usize), margin);
        assert_eq!(tags.len(), parts.len(), "one part-sum row per tag");
        let mut rng = ChaCha20Rng::from_seed(seed);
        let cap_salt = std::array::from_fn(|_| random_felt(&mut rng));
        let rows = tags
            .iter()
            .zip(parts)
            .map(|(&(tag, kind), &parts)| TotalsRow { tag, kind, parts, salt: random_felt(&mut rng) })
            .collect();
        TotalsOpening { cap_salt, rows }
    }

    /// The rate row `i` absorbs.
    pub fn rate(&self, i: usize) -> [Felt; RATE] {
        let row = &self.rows[i];
        let mut rate = [Felt::ZERO; RATE];
        rate[RATE_TAG] = Felt::from(row.tag);
        rate[RATE_KIND] = Felt::from(row.kind);
        for (dst, &p) in rate[RATE_PARTS..RATE_SALT].iter_mut().zip(&row.parts) {
            *dst = Felt::new(p);
        }
        rate[RATE_SALT] = row.salt;
        rate
    }

    /// The chain's first capacity: `[TOTALS_TAG, σ₀, σ₁, σ₂]`.
    pub fn first_capacity(&self) -> [Felt; 4] {
        [Felt::new(TOTALS_TAG), self.cap_salt[0], self.cap_salt[1], self.cap_salt[2]]
    }

    /// Every row's permutation states (input, then after each round): the trace rows of the
    /// chain, in the batch trace and in the aggregation trace alike.
    pub fn chain_states(&self) -> Vec<[State; NUM_ROUNDS + 1]> {
        let mut capacity = self.first_capacity();
        self.rows
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let mut input = [Felt::ZERO; STATE_WIDTH];
                input[..4].copy_from_slice(&capacity);
                input[4..].copy_from_slice(&self.rate(i));
                let states = permutation_states(input);
                capacity.copy_from_slice(&states[NUM_ROUNDS][..4]);
                states
            })
            .collect()
    }

    /// The commitment `C`: the rate half (`[4..8]`) of the last row's output.
    pub fn commitment(&self) -> Digest {
        let states = self.chain_states();
        let out = &states.last().expect("a statement lists at least one asset")[NUM_ROUNDS];
        [out[4], out[5], out[6], out[7]]
    }
}

// The batch AIR's committed mode ---------------------------------------------------------------

/// What the AIR is instantiated with for committed inputs: the inputs, and version 2's (or 3's)
/// public inputs of the same forest with every part sum 0 — never read as totals (the trace
/// consumes its totals itself), only for the fields the two modes share.
#[derive(Debug, Clone)]
pub struct CommittedStatement {
    pub inputs: CommittedInputs,
    base: PublicInputs,
    margin: Option<MarginInputs>,
}

impl CommittedStatement {
    /// Refuses an asset count a statement cannot list (before allocating anything by it).
    pub fn new(inputs: CommittedInputs) -> Result<Self, CircuitError> {
        let k = inputs.num_assets;
        if k == 0 || k > MAX_ASSETS {
            return Err(CircuitError::AssetCount(k));
        }
        let zeros = vec![[Felt::ZERO; PARTS]; k];
        let base = PublicInputs {
            forest: inputs.forest,
            range_bits: inputs.range_bits,
            assets_digest: inputs.assets_digest,
            round_digest: inputs.round_digest,
            totals: zeros.clone(),
            roots: inputs.roots.clone(),
        };
        let margin = inputs.prices.clone().map(|prices| MarginInputs { base: base.clone(), debt_totals: zeros, prices });
        Ok(Self { inputs, base, margin })
    }
}

impl Statement for CommittedStatement {
    fn base(&self) -> &PublicInputs {
        &self.base
    }
    fn margin(&self) -> Option<&MarginInputs> {
        self.margin.as_ref()
    }
    fn committed(&self) -> Option<&Digest> {
        Some(&self.inputs.commitment)
    }
}

impl ToElements<Felt> for CommittedStatement {
    /// `[4|5, N', start, end, R, K, |roots|, assets_digest, round_digest, roots…, C,
    /// (margin: per asset the digits of c and of d)]`.
    fn to_elements(&self) -> Vec<Felt> {
        let pi = &self.inputs;
        let f = &pi.forest;
        let version = if pi.prices.is_some() { CIRCUIT_VERSION_COMMITTED_MARGIN } else { CIRCUIT_VERSION_COMMITTED };
        let mut out = vec![
            Felt::new(version),
            Felt::new(f.num_leaves),
            Felt::new(f.start),
            Felt::new(f.end),
            Felt::from(pi.range_bits),
            Felt::new(pi.num_assets as u64),
            Felt::new(pi.roots.len() as u64),
        ];
        out.extend_from_slice(&pi.assets_digest);
        out.extend_from_slice(&pi.round_digest);
        out.extend(pi.roots.iter().flatten());
        out.extend_from_slice(&pi.commitment);
        if let Some(prices) = &pi.prices {
            out.extend(prices.elements());
        }
        out
    }
}

/// `(count, degree)` of the constraints committed mode adds, in order ([C0]…, README).
pub const CONSTRAINT_DEGREES: [(usize, usize); 2] = [(3, 3), (9, 4)];
pub const NUM_CONSTRAINTS: usize = 12;
/// `TOT[L] = 1`, `tag[L] = last`, and the four elements of `C` at `L`.
pub const NUM_ASSERTIONS: usize = 6;

/// The main constraints of committed mode on the frame `(cur, nxt)`, for `k` assets.
pub(crate) fn evaluate<E: FieldElement<BaseField = Felt>>(cur: &[E], nxt: &[E], margin: bool, k: usize, result: &mut [E]) {
    let one = E::ONE;
    let (s, s_) = (cur[SEL], nxt[SEL]);
    let (t, t_) = (cur[tot(margin)], nxt[tot(margin)]);
    let (tag, tag_) = (cur[totals_rate(RATE_TAG)], nxt[totals_rate(RATE_TAG)]);
    let (kind, kind_) = (cur[totals_rate(RATE_KIND)], nxt[totals_rate(RATE_KIND)]);
    let (first, step, _) = tag_walk(k, margin);
    // [C0] TOT is binary
    result[0] = s * t * (one - t);
    // [C1] a totals row is no other kind of row
    let mut kinds = cur[FIRST] + cur[CONT] + cur[NODE];
    if margin {
        kinds += cur[MENTRY] + cur[MCLOSE] + cur[MPRICE];
    }
    result[1] = s * t * kinds;
    // [C2] the totals rows are a suffix of the real rows (with [C-B0]: they end at L)
    result[2] = s_ * t * (one - t_);
    // [C3–C5] the chain starts from its tagged capacity, at the first tag, of kind 0
    let start = s_ * (one - t) * t_;
    result[3] = start * (nxt[state(0, 0)] - E::from(Felt::new(TOTALS_TAG)));
    result[4] = start * (tag_ - E::from(first));
    result[5] = start * kind_;
    // [C6–C9] each further row continues the previous row's capacity
    let link = s_ * t * t_;
    for c in 0..4 {
        result[6 + c] = link * (nxt[state(0, c)] - cur[state(NUM_ROUNDS, c)]);
    }
    // [C10] the tag steps by one tag of the walk; [C11] kinds follow (all 0, or 0, 1, 0, …)
    result[10] = link * (tag_ - tag - E::from(step));
    result[11] = link * (kind_ - E::from(2 - step) * (one - kind));
}

/// [C-B0–C-B5]: at the last real row `last`, `TOT = 1`, the tag is the walk's last and the
/// output's rate half is the commitment.
pub(crate) fn assertions(last: usize, margin: bool, k: usize, commitment: &Digest) -> Vec<Assertion<Felt>> {
    let (_, _, last_tag) = tag_walk(k, margin);
    let mut out = vec![
        Assertion::single(tot(margin), last, Felt::ONE),
        Assertion::single(totals_rate(RATE_TAG), last, Felt::from(last_tag)),
    ];
    out.extend(commitment.iter().enumerate().map(|(i, &v)| Assertion::single(state(NUM_ROUNDS, 4 + i), last, v)));
    out
}

/// The row's last term: a totals row consumes its parts under `(tag, kind)` — the key under
/// which version 2's entries (`pole(2, tag)` is `pole(2, tag, 0)`) and version 3's hand-backs
/// are emitted.
pub(crate) fn row_term<F, E>(row: &[F], ch: &Challenges<E>, margin: bool) -> (E, E)
where
    F: FieldElement<BaseField = Felt>,
    E: FieldElement<BaseField = Felt> + ExtensionOf<F>,
{
    let t = row[tot(margin)];
    let packed = (0..PARTS).rev().fold(E::ZERO, |acc, i| acc * ch.delta + E::from(t * row[totals_rate(RATE_PARTS + i)]));
    let key = [row[totals_rate(RATE_TAG)], row[totals_rate(RATE_KIND)]];
    (-packed, ch.pole(ASSET_BUS, &key))
}

/// The shape of committed mode's log-derivative identity (see [`crate::air::bus_shape`]):
/// version 2's or 3's, one more term per row (a pair pole), and on the verifier's side none of
/// the part sums (`K` equity totals of single tags; with margin also `K` debt totals of pairs).
pub fn bus_shape(pi: &CommittedInputs) -> BusShape {
    let k = pi.num_assets as u64;
    let base = crate::air::bus_shape_of(k, &pi.forest);
    let (shape, listed_terms, listed_degree) = match pi.prices {
        None => (base, k, k),
        Some(_) => (crate::margin::with_margin(base, k), 2 * k, k + 2 * k),
    };
    BusShape {
        terms_per_row: shape.terms_per_row + 1,
        pole_degree_per_row: shape.pole_degree_per_row + 2,
        public_terms: shape.public_terms - listed_terms,
        public_pole_degree: shape.public_pole_degree - listed_degree,
        // −TOT·Σ δ^i·Pᵢ: δ^4 at most, as an amount's parts
        numerator_degree: shape.numerator_degree,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_walk_as_documented() {
        assert_eq!(totals_tags(3, false), vec![(2, 0), (4, 0), (6, 0)]);
        assert_eq!(totals_tags(2, true), vec![(2, 0), (3, 1), (4, 0), (5, 1)]);
        for margin in [false, true] {
            let tags = totals_tags(5, margin);
            let (first, step, last) = tag_walk(5, margin);
            assert_eq!(tags[0].0, first);
            assert_eq!(tags.last().unwrap().0, last);
            assert!(tags.windows(2).all(|w| w[1].0 == w[0].0 + step));
        }
    }

    #[test]
    fn commitment_binds_every_part_and_salt() {
        let parts: Vec<[u64; PARTS]> = (0..4u64).map(|a| [a, a + 1, 3, (1 << 57) - 1, 0]).collect();
        let opening = TotalsOpening::new(&parts, true, [7; 32]);
        let c = opening.commitment();
        assert_eq!(c, TotalsOpening::new(&parts, true, [7; 32]).commitment(), "deterministic in its seed");
        assert_ne!(c, TotalsOpening::new(&parts, true, [8; 32]).commitment(), "another seed, another commitment");
        for i in 0..opening.rows.len() {
            for p in 0..PARTS {
                let mut other = opening.clone();
                other.rows[i].parts[p] += 1;
                assert_ne!(other.commitment(), c, "row {i} part {p}");
            }
            let mut other = opening.clone();
            other.rows[i].salt += Felt::ONE;
            assert_ne!(other.commitment(), c);
        }
        let mut other = opening.clone();
        other.cap_salt[2] += Felt::ONE;
        assert_ne!(other.commitment(), c);
    }
}
