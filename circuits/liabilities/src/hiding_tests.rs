//! Liabilities proofs made with the hiding (salted) commitment for the trace, constraint and
//! FRI commitments: they verify, they are reproducible, their salts follow the seed, and a
//! salt or path node changed anywhere in them is refused. Not used by any round file yet.

use std::sync::OnceLock;

use super::*;
use crate::layout::{AUX_WIDTH, MAIN_WIDTH};
use crate::prover::LiabilitiesTrace;
use stark_por_solvency::hiding::{HidingProver, SaltedBatchProof, SALT_BYTES};
use stark_por_solvency::prover::HidingCommit;
use winterfell::crypto::Digest as _;
use winterfell::math::fields::f64::BaseElement as Felt;
use winterfell::math::fields::CubeExtension;
use winterfell::math::FieldElement;
use winterfell::Air;

type E = CubeExtension<Felt>;

const SEED: [u8; 32] = [5; 32];

fn digest(seed: u64) -> stark_por_solvency::hash::Digest {
    [Felt::new(seed), Felt::new(seed + 1), Felt::new(seed + 2), Felt::new(seed + 3)]
}

/// 16 leaves over 3 assets: dust, an 18-decimal whale, empty padding leaves.
fn leaves() -> Vec<Leaf> {
    let amounts = [1u128, 999, 5 * 10u128.pow(18), (1 << 112) - 1, 1 << 62];
    (0..16)
        .map(|j| {
            let entries = (1..=3u32)
                .filter(|&a| !(j + a as usize).is_multiple_of(3) && j % 5 != 4)
                .map(|a| Entry::equity(a, amounts[(j + a as usize) % amounts.len()]))
                .collect();
            Leaf { idc: digest(100 * j as u64), entries }
        })
        .collect()
}

fn instance() -> (LiabilitiesTrace, PublicInputs) {
    let params = StatementParams { num_assets: 3, range_bits: 112, assets_digest: digest(7), round_digest: digest(9) };
    let forest = Forest::new(16, 0, 16).unwrap();
    let (trace, pi, _) = build_trace(&leaves(), forest, &params, &Security::Bits100.options(), SEED).unwrap();
    (trace, pi)
}

/// Proved on one thread, as rounds are: winterfell's grinding search is then sequential and
/// the proof a function of the job alone.
fn prove_hiding(salt_seed: [u8; 32]) -> (Proof, PublicInputs) {
    let (trace, pi) = instance();
    let inner = LiabilitiesProver::new(Security::Bits100.options(), pi.clone(), SEED);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    (pool.install(|| HidingProver::new(inner, &salt_seed).prove(trace)).unwrap(), pi)
}

/// The proof every test reads (proved once).
fn honest() -> &'static (Proof, PublicInputs) {
    static PROOF: OnceLock<(Proof, PublicInputs)> = OnceLock::new();
    PROOF.get_or_init(|| prove_hiding(SEED))
}

/// The same trace proved under another salt seed (proved once).
fn reseeded() -> &'static Proof {
    static PROOF: OnceLock<Proof> = OnceLock::new();
    PROOF.get_or_init(|| prove_hiding([6; 32]).0)
}

fn verify_hiding(proof: Proof, pi: &PublicInputs) -> Result<(), CircuitError> {
    check_shape(&proof, pi)?;
    winterfell::verify::<LiabilitiesAir, HashFn, RandomCoin, HidingCommit>(
        proof,
        pi.clone(),
        &AcceptableOptions::MinConjecturedSecurity(100),
    )
    .map_err(|e| CircuitError::Rejected(e.to_string()))
}

/// Every opening of the proof, by commitment: main trace, auxiliary trace, constraints, then
/// each FRI layer.
fn openings(proof: &Proof, pi: &PublicInputs) -> Vec<(String, SaltedBatchProof<HashFn>)> {
    let air = LiabilitiesAir::new(proof.trace_info().clone(), pi.clone(), proof.options().clone());
    let (lde, q) = (air.lde_domain_size(), proof.num_unique_queries as usize);
    let mut out = Vec::new();
    let (main, _) = proof.trace_queries[0]
        .clone()
        .parse::<Felt, HashFn, HidingCommit>(lde, q, MAIN_WIDTH)
        .unwrap();
    out.push(("main trace".to_string(), main));
    let (aux, _) = proof.trace_queries[1].clone().parse::<E, HashFn, HidingCommit>(lde, q, AUX_WIDTH).unwrap();
    out.push(("auxiliary trace".to_string(), aux));
    let columns = air.context().num_constraint_composition_columns();
    let (constraints, _) =
        proof.constraint_queries.clone().parse::<E, HashFn, HidingCommit>(lde, q, columns).unwrap();
    out.push(("constraints".to_string(), constraints));
    let folding = proof.options().to_fri_options().folding_factor();
    let (_, layers) = proof.fri_proof.clone().parse_layers::<E, HashFn, HidingCommit>(lde, folding).unwrap();
    assert!(!layers.is_empty());
    for (i, layer) in layers.into_iter().enumerate() {
        out.push((format!("FRI layer {i}"), layer));
    }
    out
}

/// The proof with the first byte of `needle` (found once in its bytes) flipped.
fn flipped(proof: &Proof, needle: &[u8]) -> Proof {
    let mut bytes = proof.to_bytes();
    let found: Vec<usize> = bytes.windows(needle.len()).enumerate().filter(|(_, w)| w == &needle).map(|(i, _)| i).collect();
    assert_eq!(found.len(), 1, "the bytes occur once in the proof");
    bytes[found[0]] ^= 1;
    Proof::from_bytes(&bytes).unwrap()
}

#[test]
fn a_hiding_proof_verifies_and_is_reproducible() {
    let (proof, pi) = honest();
    verify_hiding(proof.clone(), pi).unwrap();
    // same job, same bytes
    let (again, _) = prove_hiding(SEED);
    assert_eq!(again.to_bytes(), proof.to_bytes());
    // the same trace under another salt seed: other commitments, still a valid proof
    let other = reseeded();
    assert_ne!(other.commitments, proof.commitments);
    verify_hiding(other.clone(), pi).unwrap();
}

#[test]
fn every_commitment_carries_salts() {
    let (proof, pi) = honest();
    let all = openings(proof, pi);
    assert!(all.len() >= 4);
    for (name, opening) in &all {
        assert!(!opening.salts.is_empty(), "{name}");
        let mut sorted = opening.salts.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), opening.salts.len(), "{name}: salts repeat");
    }
    // trees never share salts, within a proof or across commitments
    let mut every: Vec<[u8; SALT_BYTES]> = all.iter().flat_map(|(_, o)| o.salts.clone()).collect();
    let count = every.len();
    every.sort();
    every.dedup();
    assert_eq!(every.len(), count);
    // another seed gives other salts everywhere
    let other_salts: Vec<[u8; SALT_BYTES]> = openings(reseeded(), pi).into_iter().flat_map(|(_, o)| o.salts).collect();
    assert!(other_salts.iter().all(|s| every.binary_search(s).is_err()));
}

#[test]
fn a_changed_salt_or_path_node_is_refused_in_every_commitment() {
    let (proof, pi) = honest();
    for (name, opening) in openings(proof, pi) {
        for k in [0, opening.salts.len() - 1] {
            let result = verify_hiding(flipped(proof, &opening.salts[k]), pi);
            assert!(matches!(result, Err(CircuitError::Rejected(_))), "{name}, salt {k}: {result:?}");
        }
        let node = opening.paths.nodes.iter().flatten().next().expect("a sibling or inner node").as_bytes();
        let result = verify_hiding(flipped(proof, &node), pi);
        assert!(matches!(result, Err(CircuitError::Rejected(_))), "{name}, path node: {result:?}");
    }
}

#[test]
fn hiding_and_plain_proofs_do_not_pass_for_each_other() {
    let (proof, pi) = honest();
    // the plain verifier reads a salted opening as a malformed Merkle proof
    assert!(verify(proof.clone(), pi.clone(), 100).is_err());
    let (trace, _) = instance();
    let plain = LiabilitiesProver::new(Security::Bits100.options(), pi.clone(), SEED).prove(trace).unwrap();
    assert_ne!(plain.commitments, proof.commitments);
    verify(plain.clone(), pi.clone(), 100).unwrap();
    assert!(verify_hiding(plain, pi).is_err());
}

#[test]
fn a_changed_balance_is_refused_under_the_hiding_commitment() {
    // soundness is untouched: a trace whose totals disagree with its balances still fails
    let (trace, mut pi) = instance();
    pi.totals[0][0] += Felt::ONE;
    let inner = LiabilitiesProver::new(Security::Bits100.options(), pi.clone(), SEED);
    let proof = HidingProver::new(inner, &SEED).prove(trace).unwrap();
    assert!(matches!(verify_hiding(proof, &pi), Err(CircuitError::Rejected(_))));
}
