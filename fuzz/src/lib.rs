//! What every fuzz target checks, beyond "no panic, abort, OOM or hang" (which libFuzzer's
//! panic hook, -rss_limit_mb and -timeout catch): a parser refuses bad bytes with a specific
//! error, never with `Error::Internal` (a panic caught by `stark_por_core::guard`, i.e. a bug),
//! and what it accepts re-encodes to the very bytes it was read from.

use std::path::{Path, PathBuf};

use stark_por_core::batch::{round_nodes, BatchJob, BatchOutput};
use stark_por_core::error::{Error, Result};
use stark_por_core::spill::{Layout, Placement, Version, BUCKETS};
use stark_por_core::v2::job::{ForestJob, ForestOutput};
use stark_por_core::statement::PriceTerm;
use stark_por_core::{Asset, Security};

/// Fails the run on an internal error: input must never reach one.
pub fn no_bug<T>(r: &Result<T>) {
    if let Err(Error::Internal(m)) = r {
        panic!("internal error (a caught panic or a broken invariant): {m}");
    }
}

/// A proof file of `kind` (byte 10 forced, so that each target stays on one parser) through the
/// public entry points `read_statement` and `verify` (no minimum security: reach every check).
pub fn proof_file(data: &[u8], kind: u8) {
    let mut bytes = data.to_vec();
    if let Some(k) = bytes.get_mut(10) {
        *k = kind;
    }
    let statement = stark_por_core::read_statement(&bytes);
    no_bug(&statement);
    let verified = stark_por_core::verify(&bytes, 0);
    no_bug(&verified);
    if let Ok(v) = verified {
        assert_eq!(statement.ok().as_ref(), Some(&v.statement), "verify and read_statement disagree");
    }
}

/// A version-2 round file (format version 2 and kind 1 forced, so that the target stays on the
/// version-2 parser): `RoundFile::from_bytes` (what it accepts re-encodes to the same bytes),
/// `read_statement` and `verify` through `v2::verify_any`, as the binding calls them.
pub fn round_file_v2(data: &[u8]) {
    round_file_of(data, 2)
}

/// [`round_file_v2`] with format version 3 forced (statement version 3: margin fields in the
/// statement, debt part sums in every forest).
pub fn round_file_v3(data: &[u8]) {
    round_file_of(data, 3)
}

fn round_file_of(data: &[u8], format_version: u16) {
    use stark_por_core::v2;
    let mut bytes = data.to_vec();
    let [v0, v1] = format_version.to_le_bytes();
    for (i, b) in [(8, v0), (9, v1), (10, v2::KIND_FORESTS)] {
        if let Some(x) = bytes.get_mut(i) {
            *x = b;
        }
    }
    let decoded = v2::RoundFile::from_bytes(&bytes);
    no_bug(&decoded);
    if let Ok(file) = &decoded {
        assert!(file.to_bytes() == bytes, "a non-canonical round file of format version {format_version} was accepted");
        assert_eq!(file.statement.format_version(), format_version, "a round read as another format version");
        let debt_k = if format_version == 3 { file.statement.assets.len() } else { 0 };
        assert!(file.forests.iter().all(|f| f.debt_parts.len() == debt_k), "debt part sums of the wrong shape");
    }
    let statement = v2::read_statement(&bytes);
    no_bug(&statement);
    if let Ok(s) = &statement {
        assert_eq!(s.format_version(), format_version, "a statement read as another format version");
        // an accepted statement's margin folds: verification rests on it
        if let Some(m) = &s.margin {
            assert!(m.coefficients(&s.assets).is_ok(), "an accepted statement's prices do not fold");
        }
    }
    let verified = v2::verify_any(&bytes, 0);
    no_bug(&verified);
    if let Ok(v2::AnyVerified::V2(v)) = verified {
        assert_eq!(statement.ok().as_ref(), Some(&v.statement), "verify and read_statement disagree");
    } else if let Ok(v2::AnyVerified::V1(_)) = verified {
        panic!("a version-{format_version} file verified as version 1");
    }
}

/// A batch job: refused, or accepted and canonical (its digest is what results are matched to).
pub fn batch_job(data: &[u8]) {
    match BatchJob::from_bytes(data) {
        Ok(job) => assert!(job.to_bytes() == data, "a non-canonical batch job was accepted"),
        Err(e) => no_bug::<()>(&Err(e)),
    }
}

/// A batch result: 4 bytes of decoding parameters (asset count, leaf count u16, batch count),
/// then the result, through `BatchOutput::from_bytes` and `round_nodes`.
pub fn batch_result(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let (num_assets, num_leaves, count) = (data[0] as usize, u16::from_le_bytes([data[1], data[2]]) as usize, data[3] as u64);
    let bytes = &data[4..];
    let decoded = BatchOutput::from_bytes(bytes, num_assets, num_leaves);
    no_bug(&decoded);
    if let Ok(out) = &decoded {
        assert!(out.to_bytes() == bytes, "a non-canonical batch result was accepted");
    }
    let nodes = round_nodes(bytes, num_assets, num_leaves, count);
    no_bug(&nodes);
    if let Ok(nodes) = nodes {
        // every node lands inside the round's tree of `count` batches
        let round_nodes_total = 2 * count * num_leaves as u64;
        assert!(nodes.iter().all(|&(i, _)| i >= 1 && i < round_nodes_total), "a node outside the round tree");
    }
}

/// A version-2 forest job: refused, or accepted and canonical (its digest is what results are
/// matched to).
pub fn forest_job(data: &[u8]) {
    match ForestJob::from_bytes(data) {
        Ok(job) => {
            assert!(job.to_bytes() == data, "a non-canonical forest job was accepted");
            // version 3 (`STPRFJB3`, committed `STPRFJB5`): coefficients for every asset, in their ranges
            assert_eq!(job.prices.is_some(), data.starts_with(b"STPRFJB3") || data.starts_with(b"STPRFJB5"));
            assert_eq!(job.committed, data.starts_with(b"STPRFJB4") || data.starts_with(b"STPRFJB5"));
            if let Some(p) = &job.prices {
                assert!(p.check(job.params.num_assets).is_ok(), "a version-3 job's coefficients out of range");
            }
        },
        Err(e) => no_bug::<()>(&Err(e)),
    }
}

/// A version-2 forest result through `ForestOutput::from_bytes`: accepted results re-encode
/// exactly, hold their roots, and place every node inside the round's tree.
pub fn forest_result(data: &[u8]) {
    let decoded = ForestOutput::from_bytes(data);
    no_bug(&decoded);
    if let Ok(out) = decoded {
        assert!(out.to_bytes() == data, "a non-canonical forest result was accepted");
        // version 3 (`STPRFRS3`, committed `STPRFRS5`): debt part sums (or an opening) and
        // coefficients for every asset; a committed result's opening opens its commitment
        assert_eq!(out.margin.is_some(), data.starts_with(b"STPRFRS3") || data.starts_with(b"STPRFRS5"));
        if let Some(c) = &out.committed {
            assert_eq!(c.opening.commitment(), c.commitment, "a committed result whose opening is another's");
        }
        if let (Some(m), None) = (&out.margin, &out.committed) {
            let k = out.pub_inputs.totals.len();
            assert_eq!(m.debt_totals.len(), k, "a version-3 result's debt part sums of another shape");
            assert!(m.prices.check(k).is_ok(), "a version-3 result's coefficients out of range");
        }
        let n = out.pub_inputs.forest.num_leaves;
        assert!(out.nodes().all(|(i, _)| i >= 1 && i < 2 * n), "a node outside the round tree");
    }
}

/// A private scratch folder for this process (in memory when /dev/shm exists).
pub fn scratch() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let dir = base.join(format!("stark-por-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

const SECRET: &[u8] = b"a fuzzing secret of enough bytes";

/// The seeds' assets (`fuzz/seeds.py`), so that real records stay in the round's domain.
fn assets() -> Vec<Asset> {
    vec![
        Asset { name: "BTC".into(), decimals: 8 },
        Asset { name: "ETH".into(), decimals: 18 },
        Asset { name: "USDT".into(), decimals: 6 },
    ]
}

/// A version-3 placement's prices, as `fuzz/seeds.py` makes them (USDT unpriced).
pub fn prices() -> Vec<Option<PriceTerm>> {
    let term = |price: &str, haircut: &str| Some(PriceTerm { price: price.into(), haircut: haircut.into() });
    vec![term("97000.5", "0.05"), term("3500.123456789012345678", "0.1"), None]
}

/// [`prices`] as `prices.bin` holds them (`spill.rs`: unit exponent, then per asset a priced
/// flag and the two decimals with their lengths).
pub fn prices_file() -> Vec<u8> {
    let mut out = vec![stark_por_core::statement::VALUE_UNIT_EXP];
    for p in prices() {
        match p {
            None => out.push(0),
            Some(t) => {
                out.push(1);
                for x in [t.price, t.haircut] {
                    out.push(x.len() as u8);
                    out.extend_from_slice(x.as_bytes());
                }
            },
        }
    }
    out
}

fn work_error<T>(r: &Result<T>) {
    no_bug(r);
    if let Err(e) = r {
        assert!(matches!(e, Error::Work(_) | Error::Input(_)), "unexpected error kind for a work file: {e:?}");
    }
}

/// Everything a placement reads back, from whatever `dir` holds (a placement of version 3 is
/// opened with [`prices`], whatever its `prices.bin` says).
fn read_placement(dir: &Path) {
    let version = Layout::load(dir).ok().flatten().map(|l| l.version);
    let (range_bits, priced) = match version {
        Some(Version::V3) => (112, Some(prices())),
        Some(Version::V2) => (112, None),
        _ => (62, None),
    };
    let placement = Placement::open_priced(dir, SECRET, "r-1", &assets(), range_bits, priced.as_deref());
    work_error(&placement);
    let Ok(placement) = placement else { return };
    for b in 0..BUCKETS {
        let rows = placement.users_in_bucket(b);
        work_error(&rows);
        // a version-3 row's tags are the round's: an asset of its list, a debt only where priced
        if let (Ok(rows), Some(p)) = (&rows, &priced) {
            for (tag, _) in rows.iter().flat_map(|r| &r.entries) {
                let asset = (*tag / 2) as usize;
                assert!((1..=p.len()).contains(&asset), "a row with tag {tag} outside the round's assets");
                assert!(tag % 2 == 0 || p[asset - 1].is_some(), "a debt in an unpriced asset was read back");
            }
        }
    }
    for log2 in [1, 3, 40] {
        work_error(&placement.batch_job(Security::Bits100, log2, 0));
    }
    // versions 2 and 3: the forest plan from the block counts, and each forest's leaves
    if placement.layout().version.forests() {
        let plan = placement.forest_plan(Security::Bits100, 14, false);
        work_error(&plan);
        if let Ok(plan) = plan {
            for i in 0..(plan.len() as u64).min(4) {
                let job = placement.forest_job(Security::Bits100, &plan, i, i % 2 == 1);
                work_error(&job);
                if let Ok(job) = job {
                    // what a worker reads back is the job made here
                    let bytes = job.to_bytes();
                    let again = ForestJob::from_bytes(&bytes);
                    no_bug(&again);
                    assert!(again.is_ok_and(|j| j.to_bytes() == bytes), "a placement's forest job does not read back");
                    assert_eq!(job.prices.is_some(), placement.layout().version == Version::V3);
                }
            }
        }
    }
}

/// The layout file of a work folder (a version-3 one with the seeds' `prices.bin`).
pub fn spill_layout(data: &[u8]) {
    let dir = scratch();
    std::fs::write(dir.join("layout.bin"), data).expect("write layout");
    std::fs::write(dir.join("prices.bin"), prices_file()).expect("write prices");
    let layout = Layout::load(&dir);
    work_error(&layout);
    if let Ok(Some(l)) = layout {
        assert_eq!(l.counts.iter().sum::<u64>(), l.num_leaves);
        read_placement(&dir);
    }
}

/// A bucket file (all of a round's records in bucket 0): byte 0 picks the user count, the rest
/// is the file.
pub fn spill_bucket(data: &[u8]) {
    spill_bucket_of(data, Version::V1, None)
}

/// [`spill_bucket`] of a version-2 placement (amounts of 16 bytes; every leaf one block in
/// `blocks.bin`, a u16 each), read back as users, the forest plan and forest jobs.
pub fn spill_bucket_v2(data: &[u8]) {
    spill_bucket_of(data, Version::V2, None)
}

/// [`spill_bucket_v2`] of a version-3 placement (entries tagged `2·asset + kind`): byte 0 picks
/// the user count, byte 1 the length `L` of the `prices.bin` that follows, the rest is the
/// bucket. The placement is opened with [`prices`]: anything else in `prices.bin` is refused.
pub fn spill_bucket_v3(data: &[u8]) {
    let Some((&users, rest)) = data.split_first() else { return };
    let Some((&len, rest)) = rest.split_first() else { return };
    let Some((prices_bin, bucket)) = rest.split_at_checked(len as usize) else { return };
    let mut input = vec![users];
    input.extend_from_slice(bucket);
    spill_bucket_of(&input, Version::V3, Some(prices_bin));
}

fn spill_bucket_of(data: &[u8], version: Version, prices_bin: Option<&[u8]>) {
    let Some((&users, bucket)) = data.split_first() else { return };
    let num_users = users as u64 + 1;
    let num_leaves = num_users.next_power_of_two().max(2);
    let mut layout = match version {
        Version::V1 => b"STPRLAY1".to_vec(),
        Version::V2 => b"STPRLAY2".to_vec(),
        Version::V3 => b"STPRLAY3".to_vec(),
    };
    let mut counts = vec![0u64; BUCKETS];
    counts[0] = num_leaves;
    for w in [num_users, num_leaves].iter().chain(&counts) {
        layout.extend_from_slice(&w.to_le_bytes());
    }
    let dir = scratch();
    std::fs::write(dir.join("layout.bin"), &layout).expect("write layout");
    std::fs::write(dir.join("bucket-000.bin"), bucket).expect("write bucket");
    if version.forests() {
        std::fs::write(dir.join("blocks.bin"), [1u8, 0].repeat(num_leaves as usize)).expect("write blocks");
    }
    if let Some(p) = prices_bin {
        std::fs::write(dir.join("prices.bin"), p).expect("write prices");
    }
    read_placement(&dir);
}

/// An inclusion proof as the binding hands it to the core (the JSON is decoded in Python),
/// checked against a statement built from the input, with switches that make its leaf, claimed
/// root, anchor and expected user consistent so that every check down to acceptance is reached.
/// `version` picks the proof's format version (`None`: 1, `Some(Ok(false))`: 2, `Some(Ok(true))`:
/// 3), `anchor_version` the anchor's statement version (1, 2, or 3 with `margin`'s prices).
#[derive(Debug, arbitrary::Arbitrary)]
pub struct InclusionInput {
    version: Option<std::result::Result<bool, u64>>,
    anchor_version: u8,
    round_id: String,
    user_id: String,
    salt: [u8; 32],
    /// (asset, index, decimals, amount, kind)
    entries: Vec<(String, u32, u8, u128, u32)>,
    leaf_index: u64,
    /// `Ok(k)`: a tree of 2^k leaves; `Err(n)`: `n` leaves.
    num_leaves: std::result::Result<u8, u64>,
    leaf: Option<[u8; 32]>,
    root: Option<[u8; 32]>,
    path: Vec<[u8; 32]>,
    /// The statement's assets, and whether its round and tree size are the proof's.
    statement: (Vec<(String, u8)>, bool, bool),
    anchor_root: Option<[u8; 32]>,
    /// `None`: the proof's own user.
    expected_user: Option<String>,
    /// `Some(None)`: the statement's own fingerprint.
    fingerprint: Option<Option<[u8; 32]>>,
    /// A version-3 anchor's unit of value and prices (`None`: no price), asset by asset.
    margin: (u8, Vec<Option<(String, String)>>),
}

pub fn inclusion(input: InclusionInput) {
    use stark_por_core::inclusion::{
        versioned_leaf_kinds, verify_inclusion, walk_path_bytes, Anchor, Expected, InclusionEntry, InclusionProof, Value,
    };
    use stark_por_core::statement::{Margin, PriceTerm};
    use stark_por_core::Statement;

    let num_leaves = match input.num_leaves {
        Ok(k) => 1u64.checked_shl(k as u32).unwrap_or(0),
        Err(n) => n,
    };
    let entries: Vec<InclusionEntry> = input
        .entries
        .into_iter()
        .map(|(asset, index, decimals, amount, kind)| InclusionEntry { asset, index, decimals, amount, kind })
        .collect();
    let version = match input.version {
        None => 1,
        Some(Ok(v3)) => 2 + v3 as u64,
        Some(Err(other)) => other,
    };
    let triples: Vec<(u32, u128, u32)> = entries.iter().map(|e| (e.index, e.amount, e.kind)).collect();
    let own_leaf = |user_id: &str, salt: &[u8; 32]| versioned_leaf_kinds(version, user_id, salt, &triples).ok();
    let leaf = input.leaf.or_else(|| own_leaf(&input.user_id, &input.salt)).unwrap_or([0; 32]);
    let reached = walk_path_bytes(&leaf, input.leaf_index, &input.path).ok();
    let root = input.root.or(reached).unwrap_or([0; 32]);
    let proof = InclusionProof {
        version,
        round_id: input.round_id,
        user_id: input.user_id,
        salt: input.salt,
        entries,
        leaf_index: input.leaf_index,
        num_leaves,
        leaf,
        root,
        path: input.path,
    };
    let (assets, same_round, same_size) = input.statement;
    let statement = Statement {
        round_id: if same_round { proof.round_id.clone() } else { "another round".into() },
        totals: vec![[0; 3]; assets.len()],
        assets: assets.into_iter().map(|(name, decimals)| Asset { name, decimals }).collect(),
        range_bits: 62,
        num_leaves: if same_size { num_leaves } else { num_leaves ^ 2 },
        root: input.anchor_root.unwrap_or(root),
    };
    // the same fields as a version-2 or 3 summary (validated or not: the anchor only reads them)
    let mut summary = statement.summary();
    let (unit_exp, mut prices) = input.margin;
    prices.resize(statement.assets.len(), None);
    let terms = prices.into_iter().map(|p| p.map(|(price, haircut)| PriceTerm { price, haircut })).collect();
    let margin = Margin { unit_exp, prices: terms, debt_totals: vec![vec![]; statement.assets.len()] };
    let anchor_version = 1 + input.anchor_version % 3;
    if anchor_version == 3 {
        summary.margin = Some(margin.clone());
    }
    let anchor = match anchor_version {
        1 => Anchor::statement(&statement),
        v => Anchor::summary_as(&summary, v as u16),
    };
    let user = input.expected_user.unwrap_or_else(|| proof.user_id.clone());
    let fingerprint = input.fingerprint.map(|f| f.unwrap_or_else(|| anchor.fingerprint()));
    let expected = Expected { user_id: &user, fingerprint };
    if let Ok(position) = verify_inclusion(&proof, &anchor, &expected) {
        // acceptance means: the user's own data walks to the statement's root, and the user,
        // round, tree size, asset labels and fingerprint are the ones expected
        assert_eq!(proof.version, anchor.statement_version() as u64);
        let own = own_leaf(&proof.user_id, &proof.salt).expect("an accepted proof's balances are in its version's domain");
        assert_eq!(walk_path_bytes(&own, proof.leaf_index, &proof.path).ok(), Some(statement.root));
        assert_eq!(proof.user_id, user);
        assert_eq!((&proof.round_id, proof.num_leaves), (&statement.round_id, statement.num_leaves));
        for e in &proof.entries {
            let a = &statement.assets[e.index as usize - 1];
            assert_eq!((&a.name, a.decimals), (&e.asset, e.decimals));
        }
        assert!(fingerprint.is_none_or(|f| f == anchor.fingerprint()));
        // version 3: the collateral check at the anchor's own prices, covered
        assert_eq!(position.is_some(), proof.version == 3);
        if let Some(position) = position {
            let c = margin.coefficients(&statement.assets).expect("an accepted anchor's prices fold");
            let (mut collateral, mut debt) = (Value::default(), Value::default());
            for e in &proof.entries {
                let k = e.index as usize - 1;
                let (value, coefficient) = if e.kind == 1 { (&mut debt, c.debt[k]) } else { (&mut collateral, c.collateral[k]) };
                value.add_product(e.amount, coefficient).expect("within 256 bits");
            }
            assert_eq!((position.collateral_value, position.debt_value, position.unit_exp), (collateral, debt, unit_exp));
            assert!(collateral >= debt, "an accepted proof is covered");
        }
    }
}
