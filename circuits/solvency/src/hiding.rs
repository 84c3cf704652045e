//! Hiding vector commitments: Merkle trees whose leaves are salted.
//!
//! winterfell commits to a matrix by hashing each row into a digest `v_i` and committing to
//! the vector of digests. With its `MerkleTree`, a batch opening hands the verifier, besides
//! the opened rows, the digests of their unopened siblings and the inner nodes above them:
//! hashes of rows nobody opened. [`SaltedMerkleTree`] commits instead to
//! `leaf_i = H(salt_i ‖ v_i)`, `salt_i` 32 fresh secret bytes per leaf, and carries the salt of
//! each opened leaf in the opening. Everything an opening shows about an unopened row is then
//! its salted leaf (or a hash of salted leaves), which in the random-oracle model is a uniform
//! string independent of the row unless one queries `H` at `salt_i ‖ v_i`, i.e. guesses a
//! 256-bit secret (`docs/PRIVACY.md`, "Zero-knowledge of formats 4 and 5"). The tree above the
//! leaves, batch openings included (shared nodes sent once), is winterfell's own.
//!
//! **Where the salts come from.** `VectorCommitment::new` receives the digests only, and
//! winterfell calls it with default options from inside `Prover::prove` (trace segments,
//! constraint evaluations, every FRI layer), so no per-proof value can be passed in. The
//! salts therefore come from a seed installed on the proving thread for the duration of one
//! proof ([`with_salt_seed`]); [`HidingProver`] installs it around `prove` itself, so callers
//! cannot forget. Each tree built under the seed takes the next key of a counter-indexed
//! ChaCha20 stream, and `salt_i` is the `i`-th 32-byte block of that key's stream: the same
//! seed and the same sequence of trees give the same bytes, trees never share salts, and a
//! salt is a PRF output under a key derived from the blinding seed (master secret and witness
//! digest), never from anything public.
//!
//! Why a thread-local and not a global or a type parameter: a type parameter carries no
//! runtime value, and a global would mix the seeds of proofs made at the same time on other
//! threads. winterfell 0.13.1 (pinned exactly) builds every commitment sequentially on the
//! thread that called `prove`. Failure modes:
//! - no seed installed (a `Prover` using this VC but not wrapped in [`HidingProver`]): the
//!   constructor returns [`HidingError::NoSaltSeed`] and winterfell panics with "failed to
//!   construct ... vector commitment" — loudly, never an unsalted or zero-salted tree;
//! - a later winterfell that built commitments on rayon workers would hit the same error on
//!   a worker with no seed; on a worker that is itself inside another proof's scope (rayon
//!   steals jobs while a thread waits) it would salt from that proof's seed: still secret, but
//!   no longer reproducible. The determinism tests catch either before such an upgrade lands;
//! - nested proofs on one thread (a stolen job proving another part) are fine: each scope
//!   saves the outer one and restores it, counter included, when it ends.

use std::cell::RefCell;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use winter_utils::{ByteReader, ByteWriter, Deserializable, DeserializationError, Serializable};
use winterfell::crypto::{BatchMerkleProof, Digest, Hasher, MerkleTree, MerkleTreeError, VectorCommitment};
use winterfell::math::fields::{CubeExtension, QuadExtension};
use winterfell::math::FieldElement;
use winterfell::matrix::ColMatrix;
use winterfell::{
    Air, AuxRandElements, CompositionPoly, CompositionPolyTrace, ConstraintCompositionCoefficients,
    DefaultConstraintCommitment, DefaultTraceLde, FieldExtension, PartitionOptions, Proof, ProofOptions, Prover,
    ProverError, StarkDomain, TraceInfo, TracePolyTable,
};

use crate::prover::derive_seed;

/// Bytes of secret randomness per leaf: as many as the digest, so that guessing a salt is as
/// hard as finding a preimage.
pub const SALT_BYTES: usize = 32;
pub type Salt = [u8; SALT_BYTES];

/// Label of the salt stream under a proof's blinding seed (`derive_seed`); the blinding rows
/// use `main` and `aux`.
const SALT_LABEL: &[u8] = b"vcsalts";
/// Salts generated per rayon task: each task seeks its stream once.
const CHUNK: usize = 1024;
/// ChaCha20 words per salt.
const WORDS_PER_SALT: u128 = (SALT_BYTES / 4) as u128;

struct Scope {
    seed: [u8; 32],
    trees: u64,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Runs `f` with every [`SaltedMerkleTree`] built on this thread drawing its salts from
/// `seed`, the `k`-th tree from the `k`-th key. The previous scope, if any, is restored
/// afterwards (also when `f` panics).
pub fn with_salt_seed<R>(seed: [u8; 32], f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Scope>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            SCOPE.with(|s| *s.borrow_mut() = outer);
        }
    }
    let outer = SCOPE.with(|s| s.borrow_mut().replace(Scope { seed, trees: 0 }));
    let _restore = Restore(outer);
    f()
}

/// The salt seed of a proof whose blinding seed is `blinding_seed`: an independent ChaCha20
/// stream under the same secret key.
pub fn salt_seed(blinding_seed: &[u8; 32]) -> [u8; 32] {
    derive_seed(blinding_seed, SALT_LABEL)
}

fn next_tree_key() -> Option<[u8; 32]> {
    SCOPE.with(|s| {
        s.borrow_mut().as_mut().map(|scope| {
            let mut rng = ChaCha20Rng::from_seed(scope.seed);
            rng.set_stream(scope.trees);
            scope.trees += 1;
            let mut key = [0u8; 32];
            rng.fill_bytes(&mut key);
            key
        })
    })
}

/// The salts of leaves `start..start + out.len()` of the tree keyed by `key`.
fn fill_salts(key: &[u8; 32], start: usize, out: &mut [Salt]) {
    let mut rng = ChaCha20Rng::from_seed(*key);
    rng.set_word_pos(start as u128 * WORDS_PER_SALT);
    for salt in out {
        rng.fill_bytes(salt);
    }
}

fn salt_at(key: &[u8; 32], index: usize) -> Salt {
    let mut salt = [0u8; SALT_BYTES];
    fill_salts(key, index, std::slice::from_mut(&mut salt));
    salt
}

/// `H(salt ‖ value)`, the leaf the tree holds for `value`.
pub fn salted_leaf<H: Hasher>(salt: &Salt, value: &H::Digest) -> H::Digest {
    let mut bytes = [0u8; SALT_BYTES + 32];
    bytes[..SALT_BYTES].copy_from_slice(salt);
    bytes[SALT_BYTES..].copy_from_slice(&value.as_bytes());
    H::hash(&bytes)
}

#[derive(Debug, thiserror::Error)]
pub enum HidingError {
    #[error("no salt seed is installed on this thread: prove with HidingProver (or inside with_salt_seed)")]
    NoSaltSeed,
    #[error("the opening carries {salts} salts for {values} values")]
    SaltCount { salts: usize, values: usize },
    #[error("opening path of {0} nodes: a path has 1 to 63")]
    PathLength(usize),
    #[error("{0}")]
    Merkle(MerkleTreeError),
}

impl From<MerkleTreeError> for HidingError {
    fn from(e: MerkleTreeError) -> Self {
        HidingError::Merkle(e)
    }
}

/// A Merkle tree over `H(salt_i ‖ v_i)`. Holds the committed values (openings return them),
/// winterfell's tree over the salted leaves, and the tree's salt key (salts are recomputed
/// when opened, not stored): half again the memory of an unsalted tree.
pub struct SaltedMerkleTree<H: Hasher> {
    key: [u8; 32],
    values: Vec<H::Digest>,
    tree: MerkleTree<H>,
}

impl<H: Hasher> SaltedMerkleTree<H> {
    /// The salt of leaf `index` (tests and the privacy argument's checks).
    pub fn salt(&self, index: usize) -> Salt {
        salt_at(&self.key, index)
    }

    /// The salted leaves, as the tree holds them.
    pub fn leaves(&self) -> &[H::Digest] {
        self.tree.leaves()
    }
}

/// One opened leaf: its salt and its path (sibling leaf first).
pub struct SaltedPath<H: Hasher> {
    pub salt: Salt,
    pub path: Vec<H::Digest>,
}

/// Several opened leaves: their salts, in the order of the indexes opened, and winterfell's
/// batch proof over their salted leaves.
pub struct SaltedBatchProof<H: Hasher> {
    pub salts: Vec<Salt>,
    pub paths: BatchMerkleProof<H>,
}

// by hand: derives would ask the hasher type itself to be `Clone`, `Debug`, `PartialEq`
impl<H: Hasher> Clone for SaltedPath<H> {
    fn clone(&self) -> Self {
        SaltedPath { salt: self.salt, path: self.path.clone() }
    }
}

impl<H: Hasher> Clone for SaltedBatchProof<H> {
    fn clone(&self) -> Self {
        let paths = BatchMerkleProof { nodes: self.paths.nodes.clone(), depth: self.paths.depth };
        SaltedBatchProof { salts: self.salts.clone(), paths }
    }
}

impl<H: Hasher> PartialEq for SaltedBatchProof<H> {
    fn eq(&self, other: &Self) -> bool {
        self.salts == other.salts && self.paths.depth == other.paths.depth && self.paths.nodes == other.paths.nodes
    }
}

impl<H: Hasher> std::fmt::Debug for SaltedBatchProof<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaltedBatchProof").field("salts", &self.salts.len()).field("depth", &self.paths.depth).finish()
    }
}

impl<H: Hasher> Serializable for SaltedPath<H> {
    fn write_into<W: ByteWriter>(&self, target: &mut W) {
        target.write_bytes(&self.salt);
        self.path.write_into(target);
    }
}

impl<H: Hasher> Deserializable for SaltedPath<H> {
    fn read_from<R: ByteReader>(source: &mut R) -> Result<Self, DeserializationError> {
        let salt = source.read_array()?;
        let path = Vec::<H::Digest>::read_from(source)?;
        Ok(SaltedPath { salt, path })
    }
}

impl<H: Hasher> Serializable for SaltedBatchProof<H> {
    fn write_into<W: ByteWriter>(&self, target: &mut W) {
        target.write_usize(self.salts.len());
        for salt in &self.salts {
            target.write_bytes(salt);
        }
        self.paths.write_into(target);
    }
}

impl<H: Hasher> Deserializable for SaltedBatchProof<H> {
    fn read_from<R: ByteReader>(source: &mut R) -> Result<Self, DeserializationError> {
        let count = source.read_usize()?;
        // the count is the sender's word: allocate as the bytes arrive
        let mut salts = Vec::with_capacity(count.min(CHUNK));
        for _ in 0..count {
            salts.push(source.read_array()?);
        }
        let paths = BatchMerkleProof::read_from(source)?;
        Ok(SaltedBatchProof { salts, paths })
    }
}

/// `2^depth`, or 0 (no domain) for a depth no tree has.
fn domain_of_depth(depth: usize) -> usize {
    if depth < usize::BITS as usize {
        1 << depth
    } else {
        0
    }
}

impl<H: Hasher> VectorCommitment<H> for SaltedMerkleTree<H> {
    type Options = ();
    type Proof = SaltedPath<H>;
    type MultiProof = SaltedBatchProof<H>;
    type Error = HidingError;

    fn with_options(values: Vec<H::Digest>, _options: ()) -> Result<Self, HidingError> {
        let key = next_tree_key().ok_or(HidingError::NoSaltSeed)?;
        let mut leaves = vec![H::Digest::default(); values.len()];
        leaves.par_chunks_mut(CHUNK).zip(values.par_chunks(CHUNK)).enumerate().for_each(|(c, (out, values))| {
            let mut salts = [[0u8; SALT_BYTES]; CHUNK];
            let salts = &mut salts[..values.len()];
            fill_salts(&key, c * CHUNK, salts);
            for ((leaf, salt), value) in out.iter_mut().zip(salts.iter()).zip(values) {
                *leaf = salted_leaf::<H>(salt, value);
            }
        });
        let tree = MerkleTree::new(leaves)?;
        Ok(SaltedMerkleTree { key, values, tree })
    }

    fn commitment(&self) -> H::Digest {
        *self.tree.root()
    }

    fn domain_len(&self) -> usize {
        self.values.len()
    }

    fn get_proof_domain_len(proof: &SaltedPath<H>) -> usize {
        domain_of_depth(proof.path.len())
    }

    fn get_multiproof_domain_len(proof: &SaltedBatchProof<H>) -> usize {
        domain_of_depth(proof.paths.depth as usize)
    }

    fn open(&self, index: usize) -> Result<(H::Digest, SaltedPath<H>), HidingError> {
        let (_, path) = self.tree.prove(index)?;
        Ok((self.values[index], SaltedPath { salt: self.salt(index), path }))
    }

    fn open_many(&self, indexes: &[usize]) -> Result<(Vec<H::Digest>, SaltedBatchProof<H>), HidingError> {
        // winterfell checks the indexes (in range, no repeats) before we read at them
        let (_, paths) = self.tree.prove_batch(indexes)?;
        let values = indexes.iter().map(|&i| self.values[i]).collect();
        let salts = indexes.iter().map(|&i| self.salt(i)).collect();
        Ok((values, SaltedBatchProof { salts, paths }))
    }

    fn verify(commitment: H::Digest, index: usize, value: H::Digest, proof: &SaltedPath<H>) -> Result<(), HidingError> {
        let depth = proof.path.len();
        if depth == 0 || depth >= usize::BITS as usize {
            return Err(HidingError::PathLength(depth));
        }
        if index >= 1 << depth {
            return Err(MerkleTreeError::LeafIndexOutOfBounds(1 << depth, index).into());
        }
        let leaf = salted_leaf::<H>(&proof.salt, &value);
        Ok(MerkleTree::<H>::verify(commitment, index, leaf, &proof.path)?)
    }

    fn verify_many(
        commitment: H::Digest,
        indexes: &[usize],
        values: &[H::Digest],
        proof: &SaltedBatchProof<H>,
    ) -> Result<(), HidingError> {
        if proof.salts.len() != values.len() || indexes.len() != values.len() {
            return Err(HidingError::SaltCount { salts: proof.salts.len(), values: values.len() });
        }
        let leaves: Vec<H::Digest> =
            proof.salts.iter().zip(values).map(|(salt, value)| salted_leaf::<H>(salt, value)).collect();
        Ok(MerkleTree::<H>::verify_batch(&commitment, indexes, &leaves, &proof.paths)?)
    }
}

/// `P` committing with salted trees: same AIR, trace, constraint evaluator and auxiliary
/// trace; the trace, constraint and FRI commitments are [`SaltedMerkleTree`]s whose salts come
/// from the blinding seed given here. Verify its proofs with
/// `winterfell::verify::<_, _, _, SaltedMerkleTree<_>>`.
pub struct HidingProver<P> {
    inner: P,
    salt_seed: [u8; 32],
}

impl<P> HidingProver<P> {
    pub fn new(inner: P, blinding_seed: &[u8; 32]) -> Self {
        Self { inner, salt_seed: salt_seed(blinding_seed) }
    }
}

impl<P: Prover> Prover for HidingProver<P>
where
    P::HashFn: Sync,
{
    type BaseField = P::BaseField;
    type Air = P::Air;
    type Trace = P::Trace;
    type HashFn = P::HashFn;
    type VC = SaltedMerkleTree<P::HashFn>;
    type RandomCoin = P::RandomCoin;
    type TraceLde<E: FieldElement<BaseField = P::BaseField>> = DefaultTraceLde<E, P::HashFn, Self::VC>;
    type ConstraintEvaluator<'a, E: FieldElement<BaseField = P::BaseField>> = P::ConstraintEvaluator<'a, E>;
    type ConstraintCommitment<E: FieldElement<BaseField = P::BaseField>> =
        DefaultConstraintCommitment<E, P::HashFn, Self::VC>;

    fn get_pub_inputs(&self, trace: &P::Trace) -> <P::Air as Air>::PublicInputs {
        self.inner.get_pub_inputs(trace)
    }

    fn options(&self) -> &ProofOptions {
        self.inner.options()
    }

    fn new_trace_lde<E: FieldElement<BaseField = P::BaseField>>(
        &self,
        trace_info: &TraceInfo,
        main_trace: &ColMatrix<P::BaseField>,
        domain: &StarkDomain<P::BaseField>,
        partition_option: PartitionOptions,
    ) -> (Self::TraceLde<E>, TracePolyTable<E>) {
        DefaultTraceLde::new(trace_info, main_trace, domain, partition_option)
    }

    fn new_evaluator<'a, E: FieldElement<BaseField = P::BaseField>>(
        &self,
        air: &'a P::Air,
        aux_rand_elements: Option<AuxRandElements<E>>,
        composition_coefficients: ConstraintCompositionCoefficients<E>,
    ) -> Self::ConstraintEvaluator<'a, E> {
        self.inner.new_evaluator(air, aux_rand_elements, composition_coefficients)
    }

    fn build_constraint_commitment<E: FieldElement<BaseField = P::BaseField>>(
        &self,
        composition_poly_trace: CompositionPolyTrace<E>,
        num_constraint_composition_columns: usize,
        domain: &StarkDomain<P::BaseField>,
        partition_options: PartitionOptions,
    ) -> (Self::ConstraintCommitment<E>, CompositionPoly<E>) {
        DefaultConstraintCommitment::new(composition_poly_trace, num_constraint_composition_columns, domain, partition_options)
    }

    fn build_aux_trace<E: FieldElement<BaseField = P::BaseField>>(
        &self,
        main_trace: &P::Trace,
        aux_rand_elements: &AuxRandElements<E>,
    ) -> ColMatrix<E> {
        self.inner.build_aux_trace(main_trace, aux_rand_elements)
    }

    /// winterfell's `prove` (the dispatch on the extension field), inside this proof's salt
    /// scope: every tree of the proof is built in it, and only those.
    fn prove(&self, trace: P::Trace) -> Result<Proof, ProverError>
    where
        <P::Air as Air>::PublicInputs: Send,
    {
        with_salt_seed(self.salt_seed, || match self.options().field_extension() {
            FieldExtension::None => self.generate_proof::<P::BaseField>(trace),
            FieldExtension::Quadratic if QuadExtension::<P::BaseField>::is_supported() => {
                self.generate_proof::<QuadExtension<P::BaseField>>(trace)
            }
            FieldExtension::Cubic if CubeExtension::<P::BaseField>::is_supported() => {
                self.generate_proof::<CubeExtension<P::BaseField>>(trace)
            }
            other => Err(ProverError::UnsupportedFieldExtension(other.degree() as usize)),
        })
    }
}

#[cfg(test)]
mod tests;
