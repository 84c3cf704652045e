//! The margin section: statement version 3 (README §4).
//!
//! Version 3 proves everything version 2 does, with debt entries (kind 1) beside equity, and
//! per borrower `Σ_a c_a·e_a ≥ Σ_a d_a·debt_a` on public integer coefficients. Rows:
//! - a **leaf row** keys each entry on the asset bus by `(tag, UIDK)`, `UIDK` 0 or the leaf's
//!   own `IDX`; a debt keyed by 0 has no sink, so every debt goes to its borrower's entry rows;
//! - a **price-table row** holds one listed `(tag, kind, coefficient digits)`, pinned to the
//!   verifier's list on the pin bus, and answers the entry rows' lookups;
//! - an **entry row** (up to two entries of one borrower) consumes each entry under
//!   `(tag, UIDK)`, hands it back under `(tag, kind)` (equity to the equity totals, debt to the
//!   debt totals), looks its coefficient up and adds `±amount·coefficient` to the borrower's
//!   running value, kept exactly in 14 positions 13 bits apart;
//! - a **close row** after a borrower's entry rows normalises the running value with
//!   range-checked remainders and carries and proves it non-negative.
//!
//! Which users borrow is hidden: the section's rows sit among the filler rows, and a trace's
//! length is all the verifier sees of how many there are.

use std::collections::HashMap;

use stark_por_solvency::air::Challenges;
use winterfell::math::{fields::f64::BaseElement as Felt, ExtensionOf, FieldElement, ToElements};

use crate::air::{combine_parts, packed_parts, tag_value, PublicInputs, RowTerms, Statement, ASSET_BUS};
use crate::hash::{Entry, DEBT, EQUITY};
use crate::layout::*;
use crate::prover::{amount_limbs, Leaf};
use crate::CircuitError;

/// Version of the statement with the margin section, bound into the transcript.
pub const CIRCUIT_VERSION_MARGIN: u64 = 3;
/// Entry rows look coefficients up in the price table on this bus; table rows answer.
pub const PRICE_BUS: u64 = 5;
/// Price-table rows are matched, once each, against the verifier's list on this bus.
pub const PIN_BUS: u64 = 6;
/// Carries of the close row are stored with this offset (they are below `2^36` in size).
pub const CARRY_OFFSET: u64 = 1 << 36;

/// Per asset (asset `k` at index `k − 1`), the two public coefficients in a common value unit
/// per smallest unit of the asset: `collateral` (price after haircut, rounded down) and `debt`
/// (price, rounded up). Each below `2^91`; `1 ≤ debt` and `collateral ≤ debt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prices {
    pub collateral: Vec<u128>,
    pub debt: Vec<u128>,
}

impl Prices {
    /// Checks the documented ranges, naming the asset at fault.
    pub fn check(&self, num_assets: usize) -> Result<(), CircuitError> {
        if self.collateral.len() != num_assets || self.debt.len() != num_assets {
            return Err(CircuitError::Shape(format!(
                "{} collateral and {} debt coefficients for {num_assets} assets",
                self.collateral.len(),
                self.debt.len()
            )));
        }
        for (k, (&c, &d)) in self.collateral.iter().zip(&self.debt).enumerate() {
            let bad = |why: &str| Err(CircuitError::Coefficient { asset: k as u32 + 1, collateral: c, debt: d, why: why.into() });
            if c >> COEF_BITS != 0 || d >> COEF_BITS != 0 {
                return bad("a coefficient is not below 2^91");
            }
            if d == 0 {
                return bad("the debt coefficient is 0 (a debt must have a price)");
            }
            if c > d {
                return bad("the collateral coefficient exceeds the debt coefficient (a haircut below 0)");
            }
        }
        Ok(())
    }

    /// The coefficient of a listed tag: collateral for equity, debt for debt.
    pub fn of_tag(&self, tag: u32) -> u128 {
        let k = (tag / 2 - 1) as usize;
        if tag % 2 == EQUITY { self.collateral[k] } else { self.debt[k] }
    }
}

/// Folds an exact decimal price (USD per whole token), an exact decimal haircut in `[0, 1]`
/// and the asset's decimals into the two coefficients, in units of `10^-unit_exp` USD per
/// smallest unit: `collateral = ⌊price·(1 − haircut)·10^(unit_exp − decimals)⌋`,
/// `debt = ⌈price·10^(unit_exp − decimals)⌉` — rounded only in the exchange's disfavour.
/// Exact for every input: the powers of ten cancel into one exponent and the product is
/// formed in 256 bits, so only a coefficient of `2^128` or more is refused as too large.
pub fn fold_price(price: &str, haircut: &str, decimals: u32, unit_exp: u32) -> Result<(u128, u128), String> {
    let (p, p_exp) = decimal(price)?;
    let (h, h_exp) = decimal(haircut)?;
    let one_h = 10u128.checked_pow(h_exp).ok_or("haircut has too many decimals")?;
    if h > one_h {
        return Err(format!("haircut {haircut} is above 1"));
    }
    if p == 0 {
        return Err(format!("price {price} is not positive"));
    }
    let overflow = || format!("price {price} with haircut {haircut} overflows 128 bits");
    // price·10^(unit_exp − decimals) = p·10^e
    let e = unit_exp as i64 - decimals as i64 - p_exp as i64;
    let debt = scale(p, 1, e, true).ok_or_else(overflow)?;
    let collateral = scale(p, one_h - h, e - h_exp as i64, false).ok_or_else(overflow)?;
    Ok((collateral, debt))
}

/// `a·b·10^e` rounded up or down, `None` if `2^128` or more.
fn scale(a: u128, b: u128, e: i64, round_up: bool) -> Option<u128> {
    const TEN19: u64 = 10_000_000_000_000_000_000;
    // little-endian 64-bit words of a·b
    let mut words = [0u64; 4];
    let (al, ah, bl, bh) = (a as u64, (a >> 64) as u64, b as u64, (b >> 64) as u64);
    for (i, x) in [al, ah].into_iter().enumerate() {
        let mut carry = 0u128;
        for (j, y) in [bl, bh].into_iter().enumerate() {
            let t = x as u128 * y as u128 + words[i + j] as u128 + carry;
            words[i + j] = t as u64;
            carry = t >> 64;
        }
        words[i + 2] = carry as u64;
    }
    let (mut e, mut inexact) = (e, false);
    while e > 0 && words.iter().any(|&w| w != 0) {
        let k = e.min(19) as u32;
        let mut carry = 0u128;
        for w in words.iter_mut() {
            let t = *w as u128 * 10u128.pow(k) + carry;
            *w = t as u64;
            carry = t >> 64;
        }
        if carry != 0 {
            return None;
        }
        e -= k as i64;
    }
    while e < 0 && words.iter().any(|&w| w != 0) {
        let d = if e <= -19 { TEN19 } else { 10u64.pow((-e) as u32) };
        let mut rem = 0u128;
        for w in words.iter_mut().rev() {
            let t = (rem << 64) | *w as u128;
            *w = (t / d as u128) as u64;
            rem = t % d as u128;
        }
        inexact |= rem != 0;
        e += if e <= -19 { 19 } else { -e };
    }
    if words[2] != 0 || words[3] != 0 {
        return None;
    }
    let v = words[0] as u128 | (words[1] as u128) << 64;
    if round_up && inexact { v.checked_add(1) } else { Some(v) }
}

/// `"123.45"` as `(12345, 2)`.
fn decimal(s: &str) -> Result<(u128, u32), String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() || !(int.chars().chain(frac.chars())).all(|c| c.is_ascii_digit()) {
        return Err(format!("{s:?} is not a non-negative decimal number"));
    }
    let digits = format!("{int}{frac}");
    let value = digits.parse::<u128>().map_err(|_| format!("{s:?} has too many digits"))?;
    Ok((value, frac.len() as u32))
}

/// The public inputs of version 3: version 2's (its equity totals), the debt totals and the
/// coefficients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarginInputs {
    pub base: PublicInputs,
    /// Per asset: the sums of the five parts of every debt amount.
    pub debt_totals: Vec<[Felt; PARTS]>,
    pub prices: Prices,
}

impl Statement for MarginInputs {
    fn base(&self) -> &PublicInputs {
        &self.base
    }
    fn margin(&self) -> Option<&MarginInputs> {
        Some(self)
    }
}

impl ToElements<Felt> for MarginInputs {
    fn to_elements(&self) -> Vec<Felt> {
        let mut out = self.base.to_elements();
        out[0] = Felt::new(CIRCUIT_VERSION_MARGIN);
        out.extend(self.debt_totals.iter().flatten());
        out.extend(self.prices.elements());
        out
    }
}

impl Prices {
    /// The public elements of the coefficients: per asset the digits of `c`, then of `d`.
    pub fn elements(&self) -> impl Iterator<Item = Felt> + '_ {
        self.collateral.iter().zip(&self.debt).flat_map(|(&c, &d)| coef_digits(c).into_iter().chain(coef_digits(d)).map(Felt::new))
    }
}

impl MarginInputs {
    /// The verifier's side of the debt totals and of the price table.
    pub fn expected_sum<E: FieldElement<BaseField = Felt>>(&self, ch: &Challenges<E>) -> E {
        self.debt_sum(ch) + self.pin_sum(ch)
    }

    /// The verifier's side of the debt totals (none with committed totals).
    pub fn debt_sum<E: FieldElement<BaseField = Felt>>(&self, ch: &Challenges<E>) -> E {
        let mut sum = E::ZERO;
        for (k, parts) in self.debt_totals.iter().enumerate() {
            let num = parts.iter().rev().fold(E::ZERO, |acc, &p| acc * ch.delta + E::from(p));
            let debt_tag = Felt::new(2 * (k as u64 + 1) + DEBT as u64);
            sum += num / ch.pole::<Felt>(ASSET_BUS, &[debt_tag, Felt::ONE]);
        }
        sum
    }

    /// The verifier's side of the pin bus: every listed price tuple once.
    pub fn pin_sum<E: FieldElement<BaseField = Felt>>(&self, ch: &Challenges<E>) -> E {
        let mut sum = E::ZERO;
        for tag in listed_tags(self.debt_totals.len()) {
            sum += ch.pole::<Felt>(PIN_BUS, &listed_tuple(tag, self.prices.of_tag(tag))).inv();
        }
        sum
    }

    /// The exact debt total of asset `k` (0-based) as little-endian 64-bit words.
    pub fn debt_total_words(&self, k: usize) -> Vec<u64> {
        combine_parts(&self.debt_totals[k].map(|x| x.as_int()))
    }
}

/// Every tag of `num_assets` assets: equity and debt of each.
pub fn listed_tags(num_assets: usize) -> impl Iterator<Item = u32> {
    2..2 * (num_assets as u32 + 1)
}

/// The 13-bit digits of a coefficient, least significant first.
pub fn coef_digits(c: u128) -> [u64; COEF_DIGITS] {
    core::array::from_fn(|i| ((c >> (LIMB_BITS as usize * i)) as u64) & ((1 << LIMB_BITS) - 1))
}

/// The price-table tuple of a listed tag: `(tag, kind, digits…)`.
fn listed_tuple(tag: u32, coefficient: u128) -> [Felt; 2 + COEF_DIGITS] {
    let digits = coef_digits(coefficient);
    core::array::from_fn(|i| match i {
        0 => Felt::from(tag),
        1 => Felt::from(tag % 2),
        _ => Felt::new(digits[i - 2]),
    })
}

/// Slot `j`'s price tuple as the row holds it.
fn price_tuple<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> [F; 2 + COEF_DIGITS] {
    core::array::from_fn(|i| match i {
        0 => tag_value(row, j),
        1 => row[kind(j)],
        _ => row[coef(j, i - 2)],
    })
}

/// The terms version 3 adds to a row (after version 2's).
pub(crate) fn row_terms<F, E>(row: &[F], ch: &Challenges<E>, terms: &mut RowTerms<E>)
where
    F: FieldElement<BaseField = Felt>,
    E: FieldElement<BaseField = Felt> + ExtensionOf<F>,
{
    let me = row[MENTRY];
    // an entry row hands each amount it consumed back under (tag, kind): equity to the key of
    // the equity totals, debt to that of the debt totals (no leaf entry has key 1: UIDK is 0
    // or an IDX ≥ N' ≥ 2)
    for j in 0..MARGIN_SLOTS {
        terms.push(packed_parts(row, j, me, ch.delta), ch.pole(ASSET_BUS, &[tag_value(row, j), row[kind(j)]]));
    }
    // each entry slot looks its (tag, kind, coefficient) up; table rows answer with their
    // multiplicity (slot 0's columns). The β powers are shared by the three 9-tuples.
    let mut powers = [ch.beta; 2 + COEF_DIGITS];
    for i in 1..powers.len() {
        powers[i] = powers[i - 1] * ch.beta;
    }
    let pole = |bus: u64, values: &[F; 2 + COEF_DIGITS]| {
        ch.alpha - values.iter().zip(&powers).fold(E::from(Felt::from(bus as u32)), |acc, (&v, &b)| acc + b.mul_base(v))
    };
    let first = pole(PRICE_BUS, &price_tuple(row, 0));
    terms.push(E::from(me - row[MPRICE] * row[MULTP]), first);
    for j in 1..MARGIN_SLOTS {
        terms.push(E::from(me), pole(PRICE_BUS, &price_tuple(row, j)));
    }
    // a table row is one of the verifier's listed tuples: pole(PIN, t) = pole(PRICE, t) − 1
    const _: () = assert!(PIN_BUS == PRICE_BUS + 1);
    terms.push(E::from(row[MPRICE]), first - E::ONE);
}

/// An amount's digits 13 bits apart, from its limbs: the low element's five limbs, then the
/// high part's, whose offsets `62 + 13i` are `13·(4 + i) + 10` (so `A₄ = l₄ + 2^10·l₅`).
pub fn amount_digits<F: FieldElement<BaseField = Felt>>(row: &[F], j: usize) -> [F; AMOUNT_DIGITS] {
    let l = |i: usize| row[limb(j, i)];
    let shift = F::from(1u32 << (LIMB_OFFSETS[LOW_LIMBS] - LIMB_BITS * (LOW_LIMBS as u32 - 1)));
    [l(0), l(1), l(2), l(3), l(4) + shift * l(5), shift * l(6), shift * l(7), shift * l(8)]
}

/// `(count, degree)` of the constraints version 3 adds, in order ([M0]…, README).
pub const CONSTRAINT_DEGREES: [(usize, usize); 6] = [(1, 4), (7, 3), (3, 4), (2, 3), (POSITIONS, 5), (1 + PAIRS, 3)];
pub const NUM_CONSTRAINTS: usize = 1 + 7 + 3 + 2 + POSITIONS + 1 + PAIRS;

/// The main constraints of the margin section, on the frame `(cur, nxt)`.
pub(crate) fn evaluate<E: FieldElement<BaseField = Felt>>(cur: &[E], nxt: &[E], result: &mut [E]) {
    let one = E::ONE;
    let (s, s_) = (cur[SEL], nxt[SEL]);
    let (leaf, node) = (cur[FIRST] + cur[CONT], cur[NODE]);
    let (me, mc, mp) = (cur[MENTRY], cur[MCLOSE], cur[MPRICE]);
    let (me_, mc_) = (nxt[MENTRY], nxt[MCLOSE]);
    // [M0] a leaf row keys its entries by 0 or by its own IDX
    result[0] = s * leaf * cur[UIDK] * (cur[UIDK] - cur[IDX]);
    // [M1–M3] the margin flags are binary
    result[1] = s * me * (one - me);
    result[2] = s * mc * (one - mc);
    result[3] = s * mp * (one - mp);
    // [M4] never on a leaf block or a node; [M5–M7] at most one per row
    result[4] = s * (me + mc + mp) * (leaf + node);
    result[5] = s * me * mc;
    result[6] = s * me * mp;
    result[7] = s * mc * mp;
    // [M8] an entry row's borrower is not 0 (key 0 holds the entries of users without debt)
    result[8] = s * me * (cur[UIDK] * cur[INV] - one);
    // [M9] one borrower per run of entry rows
    result[9] = s_ * me * me_ * (nxt[UIDK] - cur[UIDK]);
    // [M10] entry rows are counted from 1 in each run
    result[10] = s_ * me_ * (nxt[CNT] - me * cur[CNT] - one);
    // [M11] a run continues or is closed; [M12] a close row follows an entry row
    result[11] = s_ * me * (one - me_ - mc_);
    result[12] = s_ * mc_ * (one - me);
    // [M13–M26] the running value: the previous entry row's (0 at a run's start) plus
    //           ±amount·coefficient of each slot, position by position
    let mut delta = [E::ZERO; POSITIONS];
    let two = E::from(2u32);
    for j in 0..MARGIN_SLOTS {
        let a = amount_digits(nxt, j);
        let mut product = [E::ZERO; POSITIONS];
        for (k, &ak) in a.iter().enumerate() {
            for i in 0..COEF_DIGITS {
                product[k + i] += ak * nxt[coef(j, i)];
            }
        }
        let sign = one - two * nxt[kind(j)];
        for p in 0..POSITIONS {
            delta[p] += sign * product[p];
        }
    }
    for p in 0..POSITIONS {
        result[13 + p] = s_ * me_ * (nxt[acc(p)] - me * cur[acc(p)] - delta[p]);
    }
    let i = 13 + POSITIONS;
    // [M27] the close row holds 32·CNT in a looked-up cell: at most 255 entry rows per run
    result[i] = s_ * mc_ * (nxt[cell(COUNT_CELL)] - E::from(1u32 << COUNT_SHIFT) * cur[CNT]);
    // [M28–M34] the close row normalises the value two positions at a time:
    //           acc₂ⱼ + 2^13·acc₂ⱼ₊₁ + kⱼ₋₁ = rⱼ + 2^26·kⱼ, rⱼ < 2^26, the last carry ≥ 0
    let (r13, r24, r26) = (E::from(1u32 << 13), E::from(1u32 << 24), E::from(1u32 << 26));
    let c = |x: usize| nxt[cell(x)];
    let mut carry = E::ZERO;
    for j in 0..PAIRS {
        let value = cur[acc(2 * j)] + r13 * cur[acc(2 * j + 1)] + carry;
        let b = CELLS_PER_PAIR * j;
        let rem = c(b) + r13 * c(b + 1);
        let stored = c(b + 2) + r13 * c(b + 3) + r24 * c(b + 4);
        let k = if j + 1 < PAIRS { stored - E::from(Felt::new(CARRY_OFFSET)) } else { stored };
        result[i + 1 + j] = s_ * mc_ * (value - rem - r26 * k);
        carry = k;
    }
    debug_assert_eq!(i + 1 + PAIRS, NUM_CONSTRAINTS);
}

// Trace building ---------------------------------------------------------------------------------

/// Dishonest variants of the margin rows, for the tests' forged traces.
#[derive(Debug, Default, Clone)]
pub(crate) struct Forge {
    /// Leaf positions (in the slice) treated as users without debt: no entry rows, UIDK 0.
    pub hidden: Vec<usize>,
    /// Entry rows use this coefficient for this tag (the table stays honest).
    pub coef: Option<(u32, u128)>,
    /// The table row of this tag (and the entry rows) use this coefficient.
    pub table: Option<(u32, u128)>,
    /// `(from, to, tag)`: leaf `from`'s entry of that tag is counted in leaf `to`'s run.
    pub lend: Option<(usize, usize, u32)>,
    /// `(leaf, tag)`: that entry is written into slot 2 of its entry row (which takes no
    /// entry): neither counted in the value nor handed back.
    pub stowed: Option<(usize, u32)>,
}

/// One borrower's run: their `IDX` and the entries their entry rows consume.
struct Run {
    uid: u64,
    entries: Vec<Entry>,
}

fn is_borrower(leaf: &Leaf) -> bool {
    leaf.entries.iter().any(|e| e.tag % 2 == DEBT)
}

/// Whether the leaf's entries go to the margin section (its leaf rows' UIDK).
pub(crate) fn uidk(leaf: &Leaf, position: usize, forge: &Forge) -> bool {
    is_borrower(leaf) && !forge.hidden.contains(&position)
}

/// Rows of the margin section: the price table and, per borrower, their entry rows and a close
/// row.
pub fn section_rows(leaves: &[Leaf], num_assets: usize) -> usize {
    2 * num_assets
        + leaves.iter().filter(|l| is_borrower(l)).map(|l| l.entries.len().div_ceil(MARGIN_SLOTS) + 1).sum::<usize>()
}

/// The running value's positions after a run, as exact integers.
pub(crate) fn run_value(entries: &[Entry], coefficient: impl Fn(u32) -> u128) -> [i128; POSITIONS] {
    let mut value = [0i128; POSITIONS];
    for e in entries {
        add_product(&mut value, e, coefficient(e.tag));
    }
    value
}

fn add_product(value: &mut [i128; POSITIONS], e: &Entry, coefficient: u128) {
    let limbs = amount_limbs(e.amount).map(|l| l as i128);
    let shift = 1i128 << (LIMB_OFFSETS[LOW_LIMBS] - LIMB_BITS * (LOW_LIMBS as u32 - 1));
    let a = [limbs[0], limbs[1], limbs[2], limbs[3], limbs[4] + shift * limbs[5], shift * limbs[6], shift * limbs[7], shift * limbs[8]];
    let c = coef_digits(coefficient);
    let sign = if e.tag % 2 == EQUITY { 1 } else { -1 };
    for (k, &ak) in a.iter().enumerate() {
        for (i, &ci) in c.iter().enumerate() {
            value[k + i] += sign * ak * ci as i128;
        }
    }
}

/// The close row's cells for a run's value, and whether the value is non-negative. A negative
/// value still gets cells that satisfy the close row's constraints as field equations (its
/// last carry is then a field element far outside the table): the forged traces use them.
pub(crate) fn close_cells(value: &[i128; POSITIONS]) -> ([u64; COUNT_CELL], bool) {
    let mut cells = [0u64; COUNT_CELL];
    let mut carry = 0i128;
    let mut covered = true;
    for j in 0..PAIRS {
        let v = value[2 * j] + (value[2 * j + 1] << 13) + carry;
        let rem = v.rem_euclid(1 << 26);
        let k = (v - rem) >> 26;
        let stored = if j + 1 < PAIRS { k + CARRY_OFFSET as i128 } else { k };
        let stored = if stored < 0 {
            covered = false;
            (Felt::ZERO - Felt::new(stored.unsigned_abs() as u64)).as_int()
        } else {
            stored as u64
        };
        let b = CELLS_PER_PAIR * j;
        cells[b] = (rem & 0x1fff) as u64;
        cells[b + 1] = (rem >> 13) as u64;
        cells[b + 2] = stored & 0x1fff;
        cells[b + 3] = (stored >> 13) & 0x7ff;
        cells[b + 4] = stored >> 24;
        carry = k;
    }
    (cells, covered)
}

/// The exact value `Σ ±amount·coefficient` of some entries, in decimal.
pub(crate) fn decimal_value(entries: &[&Entry], prices: &Prices) -> String {
    // little-endian base-2^32 words
    let mut words = [0u64; 8];
    for e in entries {
        let c = prices.of_tag(e.tag);
        let (a, c) = ([e.amount as u32, (e.amount >> 32) as u32, (e.amount >> 64) as u32, (e.amount >> 96) as u32], [c as u32, (c >> 32) as u32, (c >> 64) as u32]);
        for (i, &x) in a.iter().enumerate() {
            for (j, &y) in c.iter().enumerate() {
                let mut carry = x as u64 * y as u64;
                let mut k = i + j;
                while carry > 0 {
                    let sum = words[k] + (carry & 0xffff_ffff);
                    words[k] = sum & 0xffff_ffff;
                    carry = (carry >> 32) + (sum >> 32);
                    k += 1;
                }
            }
        }
    }
    let mut digits = Vec::new();
    while words.iter().any(|&w| w != 0) {
        let mut rem = 0u64;
        for w in words.iter_mut().rev() {
            let cur = (rem << 32) | *w;
            *w = cur / 1_000_000_000;
            rem = cur % 1_000_000_000;
        }
        digits.push(rem);
    }
    match digits.split_last() {
        None => "0".into(),
        Some((top, rest)) => {
            let mut s = top.to_string();
            for d in rest.iter().rev() {
                s.push_str(&format!("{d:09}"));
            }
            s
        }
    }
}

/// Refuses a borrower whose debt is not covered, or who has more entries than a run holds
/// (leaves numbered from `first_position`).
pub fn check_borrowers(leaves: &[Leaf], first_position: u64, prices: &Prices) -> Result<(), CircuitError> {
    for (k, leaf) in leaves.iter().enumerate().filter(|(_, l)| is_borrower(l)) {
        let leaf_no = first_position + k as u64;
        let rows = leaf.entries.len().div_ceil(MARGIN_SLOTS) as u64;
        if rows > MAX_ENTRY_ROWS {
            return Err(CircuitError::MarginEntries { leaf: leaf_no, entries: leaf.entries.len(), max: MAX_ENTRY_ROWS as usize * MARGIN_SLOTS });
        }
        let value = run_value(&leaf.entries, |t| prices.of_tag(t));
        if !close_cells(&value).1 {
            let of = |kind: u32| leaf.entries.iter().filter(move |e| e.tag % 2 == kind);
            return Err(CircuitError::UncoveredDebt {
                leaf: leaf_no,
                debt_assets: of(DEBT).map(|e| e.asset()).collect(),
                collateral_assets: of(EQUITY).map(|e| e.asset()).collect(),
                debt: decimal_value(&of(DEBT).collect::<Vec<_>>(), prices),
                collateral: decimal_value(&of(EQUITY).collect::<Vec<_>>(), prices),
            });
        }
    }
    Ok(())
}

/// Writes the margin section into `out` (rows of `width` columns, already `SEL = 1`): the
/// price table, then each borrower's entry rows and close row. `first_idx` is the first leaf's
/// `IDX`.
pub(crate) fn write_section(out: &mut [Felt], width: usize, leaves: &[Leaf], first_idx: u64, prices: &Prices, forge: &Forge) {
    let num_assets = prices.debt.len();
    let table_coef = |tag: u32| match forge.table {
        Some((t, c)) if t == tag => c,
        _ => prices.of_tag(tag),
    };
    let entry_coef = |tag: u32| match (forge.coef, forge.table) {
        (Some((t, c)), _) if t == tag => c,
        (_, Some((t, c))) if t == tag => c,
        _ => prices.of_tag(tag),
    };
    let mut runs: Vec<Run> = leaves
        .iter()
        .enumerate()
        .filter(|(k, l)| uidk(l, *k, forge))
        .map(|(k, l)| Run { uid: first_idx + k as u64, entries: l.entries.clone() })
        .collect();
    if let Some((from, to, tag)) = forge.lend {
        let (from, to) = (first_idx + from as u64, first_idx + to as u64);
        let src = runs.iter_mut().find(|r| r.uid == from).expect("a lending borrower");
        let at = src.entries.iter().position(|e| e.tag == tag).expect("the lent entry");
        let entry = src.entries.remove(at);
        runs.iter_mut().find(|r| r.uid == to).expect("a receiving borrower").entries.push(entry);
    }

    let mut rows = out.chunks_mut(width);
    let table: Vec<&mut [Felt]> = rows.by_ref().take(2 * num_assets).collect();
    let mut uses: HashMap<(u32, u128), u64> = HashMap::new();
    // an unused slot holds asset 1's equity tuple and amount 0
    let padding = Entry::equity(1, 0);
    for run in &runs {
        let mut value = [0i128; POSITIONS];
        let mut count = 0u64;
        for chunk in run.entries.chunks(MARGIN_SLOTS) {
            let row = rows.next().expect("room for the margin section");
            count += 1;
            row[MENTRY] = Felt::ONE;
            row[UIDK] = Felt::new(run.uid);
            row[INV] = Felt::new(run.uid).inv();
            row[CNT] = Felt::new(count);
            for j in 0..MARGIN_SLOTS {
                let mut e = chunk.get(j).unwrap_or(&padding);
                if forge.stowed.is_some_and(|(leaf, tag)| first_idx + leaf as u64 == run.uid && tag == e.tag) {
                    row[slot_high(2)] = e.elements()[1];
                    for (i, l) in amount_limbs(e.amount).into_iter().enumerate() {
                        row[limb(2, i)] = Felt::new(l);
                    }
                    e = &padding;
                }
                let c = entry_coef(e.tag);
                *uses.entry((e.tag, c)).or_default() += 1;
                row[slot_high(j)] = e.elements()[1];
                for (i, l) in amount_limbs(e.amount).into_iter().enumerate() {
                    row[limb(j, i)] = Felt::new(l);
                }
                row[kind(j)] = Felt::from(e.tag % 2);
                for (i, d) in coef_digits(c).into_iter().enumerate() {
                    row[coef(j, i)] = Felt::new(d);
                }
                add_product(&mut value, e, c);
            }
            for (p, &v) in value.iter().enumerate() {
                row[acc(p)] = if v < 0 { Felt::ZERO - Felt::new(v.unsigned_abs() as u64) } else { Felt::new(v as u64) };
            }
        }
        let row = rows.next().expect("room for the margin section");
        row[MCLOSE] = Felt::ONE;
        let (cells, _) = close_cells(&value);
        for (c, v) in cells.into_iter().enumerate() {
            row[cell(c)] = Felt::new(v);
        }
        row[cell(COUNT_CELL)] = Felt::new(count << COUNT_SHIFT);
    }
    for (row, tag) in table.into_iter().zip(listed_tags(num_assets)) {
        let c = table_coef(tag);
        row[MPRICE] = Felt::ONE;
        row[slot_high(0)] = Felt::from(tag);
        row[kind(0)] = Felt::from(tag % 2);
        for (i, d) in coef_digits(c).into_iter().enumerate() {
            row[coef(0, i)] = Felt::new(d);
        }
        row[MULTP] = Felt::new(uses.get(&(tag, c)).copied().unwrap_or(0));
    }
}

/// The shape of version 3's log-derivative identity (see [`crate::air::bus_shape`]).
pub fn bus_shape(mi: &MarginInputs) -> stark_por_solvency::BusShape {
    with_margin(crate::air::bus_shape(&mi.base), mi.debt_totals.len() as u64)
}

/// Version 2's shape `base` with the margin section of `k` assets added.
pub fn with_margin(base: stark_por_solvency::BusShape, k: u64) -> stark_por_solvency::BusShape {
    const PRICE_TUPLE: u64 = 2 + COEF_DIGITS as u64;
    let tags = 2 * k;
    stark_por_solvency::BusShape {
        terms_per_row: NUM_TERMS_MARGIN as u64,
        // version 2's poles, the asset sums now pairs (tag, UIDK); emissions (pairs), price
        // lookups and the pin (tuples of 9)
        pole_degree_per_row: base.pole_degree_per_row
            + SLOTS as u64
            + 2 * MARGIN_SLOTS as u64
            + (MARGIN_SLOTS as u64 + 1) * PRICE_TUPLE,
        // debt totals (pairs) and the listed price tuples
        public_terms: base.public_terms + k + tags,
        public_pole_degree: base.public_pole_degree + 2 * k + tags * PRICE_TUPLE,
        numerator_degree: base.numerator_degree,
    }
}
