//! Writes real version-2 round files, the seeds of the `round_v2` fuzz target (`fuzz/seeds.py`
//! runs it): a whole tree of a few exchange users (BTC at 8 decimals, ETH and SHIB at 18, whales
//! up to 2^112 − 1) at both presets, and a round of 5,000 users cut into several forests.
//!
//!     cargo run --release -p stark-por-core --example v2_seeds -- OUT_DIR

use stark_por_core::v2::{prove_round, WideLedgerRef};
use stark_por_core::{Asset, Security};

const SECRET: &[u8] = b"a fuzzing secret of enough bytes";

struct Ledger {
    ids: Vec<String>,
    indptr: Vec<u64>,
    assets: Vec<u32>,
    lo: Vec<u64>,
    hi: Vec<u64>,
}

fn ledger(users: &[Vec<(u32, u128)>]) -> Ledger {
    let mut l = Ledger { ids: vec![], indptr: vec![0], assets: vec![], lo: vec![], hi: vec![] };
    for (i, entries) in users.iter().enumerate() {
        l.ids.push(format!("user-{i}"));
        for &(a, v) in entries {
            l.assets.push(a);
            l.lo.push(v as u64);
            l.hi.push((v >> 64) as u64);
        }
        l.indptr.push(l.assets.len() as u64);
    }
    l
}

fn write(out: &std::path::Path, name: &str, l: &Ledger, assets: &[Asset], security: Security) {
    let view = WideLedgerRef {
        user_ids: &l.ids,
        assets,
        indptr: &l.indptr,
        asset_index: &l.assets,
        amounts_lo: &l.lo,
        amounts_hi: &l.hi,
        range_bits: 112,
    };
    let proved = prove_round(&view, SECRET, &format!("fuzz-v2-{name}"), security, 14, 0).expect("a seed round proves");
    // a seed the verifier accepts: the fuzzer starts from the accepting path
    let verified = stark_por_core::v2::verify(&proved.file, 0).expect("a seed round verifies");
    std::fs::write(out.join(format!("{name}.stpor")), &proved.file).expect("writing a seed");
    println!("{name}: {} forests, {} bytes, {} bits", verified.forests, proved.file.len(), verified.security_bits);
}

fn main() {
    let out = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: v2_seeds OUT_DIR"));
    std::fs::create_dir_all(&out).expect("creating the output folder");
    let assets: Vec<Asset> = [("BTC", 8), ("ETH", 18), ("SHIB", 18)]
        .iter()
        .map(|&(n, d)| Asset { name: n.into(), decimals: d })
        .collect();
    let eth = 10u128.pow(18);
    let small = ledger(&[
        vec![(0, 50_000_000), (1, 3 * eth + 2 * eth / 10)],
        vec![(1, 250_000 * eth), (2, (1 << 112) - 1)],
        vec![(0, 1), (1, 1), (2, 1)],
        vec![(1, 5 << 62)],
        vec![(2, 10u128.pow(15) * eth)],
    ]);
    write(&out, "small", &small, &assets, Security::Bits100);
    write(&out, "small-128", &small, &assets, Security::Bits128);
    // 5,000 one-block users: 8,192 leaves and their nodes do not fit one 2^14-row trace
    let many: Vec<Vec<(u32, u128)>> = (0..5000u128).map(|i| vec![((i % 3) as u32, 1 + i * 977 * eth)]).collect();
    write(&out, "forests", &ledger(&many), &assets, Security::Bits100);
}
