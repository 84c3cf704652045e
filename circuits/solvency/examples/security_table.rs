//! Prints the per-term security table of `circuits/solvency/README.md`: every term of every
//! accepted option set at the smallest and the largest trace it can prove.
//!
//! `cargo run --release -p stark-por-solvency --example security_table -- [NUM_ASSETS]`
use stark_por_solvency::options::legacy_options;
use stark_por_solvency::prover::MAX_LOG_LDE;
use stark_por_solvency::{estimate_for, Security};

fn main() {
    let assets: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let sets = Security::ALL
        .into_iter()
        .map(|s| (format!("\"{}\"", s.name()), s.options()))
        .chain(legacy_options().into_iter().map(|(s, o)| (format!("v1 \"{}\"", s.name()), o)));
    let mut header = String::from("| term | bits |");
    let mut rule = String::from("|---|---|");
    let mut rows: Vec<(String, Vec<String>)> = [
        "field | `log2 \\|F\\|`",
        "queries | `q·log2(b) + g`",
        "DEEP | `log2 \\|F\\| − log2((b + 1)(n + 1) + n − 1)`",
        "bus | `log2 \\|F\\| − log2(84·n + 2K + 8)`",
        "union | `−log2 Σ 2^−λ` over the four above",
        "**conjectured** | whole bits below the union, ≤ 128",
        "winterfell proven | `Proof::proven_security`",
        "**proven** | `min(winterfell proven, bus)`",
    ]
    .iter()
    .map(|t| (t.to_string(), vec![]))
    .collect();
    for (name, options) in sets {
        let largest = MAX_LOG_LDE - options.blowup_factor().ilog2();
        for log_n in [13, largest] {
            header += &format!(" {name}, n = 2^{log_n} |");
            rule += "--:|";
            let e = estimate_for(&options, 1 << log_n, assets);
            let t = e.terms;
            let values = [
                format!("{:.2}", t.field),
                format!("{:.2}", t.queries),
                format!("{:.2}", t.deep),
                format!("{:.2}", t.bus),
                format!("{:.2}", t.statistical()),
                format!("**{}**", e.conjectured),
                format!("{}", e.winterfell_proven),
                format!("**{}**", e.proven),
            ];
            for (row, v) in rows.iter_mut().zip(values) {
                row.1.push(v);
            }
        }
    }
    println!("{header}\n{rule}");
    for (term, values) in rows {
        println!("| {term} | {} |", values.join(" | "));
    }
}
