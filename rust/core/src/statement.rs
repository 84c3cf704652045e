//! The public statement of a liabilities proof and its canonical byte encoding.

use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, hash_bytes, Digest, ASSETS_TAG, ROUND_TAG};
use stark_por_solvency::air::combine_parts;
use stark_por_solvency::layout::PARTS;
use stark_por_solvency::PublicInputs;
use stark_por_liabilities::layout::COEF_BITS;
use stark_por_liabilities::margin::fold_price;
use stark_por_liabilities::Prices;
use sha2::{Digest as _, Sha256};
use winterfell::math::{fields::f64::BaseElement as Felt, StarkField};

use crate::error::{Error, Result};
use crate::reader::Reader;

/// Longest accepted asset name and round id, in bytes.
pub const MAX_ASSET_NAME: usize = 32;
pub const MAX_ROUND_ID: usize = 256;
/// Most decimals an asset may have.
pub const MAX_DECIMALS: u8 = 30;
/// Most assets a statement may list.
pub const MAX_ASSETS: usize = 65_536;
/// Version of the statement encoding under the fingerprint (see [`Summary::fingerprint`]).
pub const STATEMENT_VERSION: u16 = 1;
/// Deepest tree a statement may describe (the circuit accepts at most 2^40 leaves).
pub const MAX_DEPTH: u32 = 40;
/// Domain separation of the fingerprint: a SHA-256 of anything else never starts this way.
const FINGERPRINT_DOMAIN: &[u8] = b"stark-por/statement\0";
/// The statement version with margin (`crate::v2` rounds with prices and debts).
pub const STATEMENT_VERSION_MARGIN: u16 = 3;
/// Margin coefficients are in units of `10^-VALUE_UNIT_EXP` USD (per smallest unit of an
/// asset): every round made now uses 27; a statement stores and binds its own.
pub const VALUE_UNIT_EXP: u8 = 27;
/// Longest price or haircut, in characters.
pub const MAX_DECIMAL_DIGITS: usize = 38;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    pub name: String,
    pub decimals: u8,
}

impl Asset {
    pub fn validate(&self) -> Result<()> {
        let ok = !self.name.is_empty()
            && self.name.len() <= MAX_ASSET_NAME
            && self.name.bytes().all(|b| b.is_ascii_graphic() && b != b',');
        if !ok {
            return Err(Error::Input(format!("asset name {:?} must be 1 to 32 printable ASCII characters", self.name)));
        }
        if self.decimals > MAX_DECIMALS {
            return Err(Error::Input(format!("asset {} has {} decimals (at most 30)", self.name, self.decimals)));
        }
        Ok(())
    }
}

/// Everything a proof claims, in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub round_id: String,
    pub assets: Vec<Asset>,
    pub range_bits: u32,
    pub num_leaves: u64,
    pub root: [u8; 32],
    /// Per asset: the sums of the three 24-bit parts of every amount (see the circuit README).
    pub totals: Vec<[u64; PARTS]>,
}

impl Statement {
    /// Exact total of asset `k`, in its smallest unit.
    pub fn total(&self, k: usize) -> u128 {
        combine_parts(&self.totals[k])
    }

    /// What the round publishes in the clear, totals as exact integers.
    pub fn summary(&self) -> Summary {
        Summary {
            round_id: self.round_id.clone(),
            range_bits: self.range_bits,
            num_leaves: self.num_leaves,
            root: self.root,
            assets: self.assets.clone(),
            totals: (0..self.assets.len()).map(|k| self.total(k).to_le_bytes().to_vec()).collect(),
            margin: None,
        }
    }

    /// The statement fingerprint (see [`Summary::fingerprint`]).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.summary().fingerprint()
    }

    pub fn validate(&self) -> Result<()> {
        validate_round_id(&self.round_id)?;
        validate_assets(&self.assets)
    }

    /// Digest binding the asset list (order, names and decimals) into the transcript.
    pub fn assets_digest(&self) -> Digest {
        assets_digest(&self.assets)
    }

    pub fn round_digest(&self) -> Digest {
        round_digest(&self.round_id)
    }

    /// The circuit's public inputs for this statement.
    pub fn public_inputs(&self) -> Result<PublicInputs> {
        let root = digest_from_bytes(&self.root).ok_or_else(|| Error::Invalid("root is not a canonical digest".into()))?;

        Ok(PublicInputs {
            num_leaves: self.num_leaves,
            range_bits: self.range_bits,
            assets_digest: self.assets_digest(),
            round_digest: self.round_digest(),
            totals: self.totals.iter().map(|parts| parts.map(Felt::new)).collect(),
            root,
        })
    }

    pub fn from_public_inputs(round_id: String, assets: Vec<Asset>, pi: &PublicInputs) -> Self {
        Statement {
            round_id,
            assets,
            range_bits: pi.range_bits,
            num_leaves: pi.num_leaves,
            root: digest_to_bytes(&pi.root),
            totals: pi.totals.iter().map(|parts| parts.map(|x| x.as_int())).collect(),
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.round_id.len() as u16).to_le_bytes());
        out.extend_from_slice(self.round_id.as_bytes());
        out.push(self.range_bits as u8);
        out.extend_from_slice(&self.num_leaves.to_le_bytes());
        out.extend_from_slice(&self.root);
        out.extend_from_slice(&(self.assets.len() as u32).to_le_bytes());
        for (k, a) in self.assets.iter().enumerate() {
            out.push(a.name.len() as u8);
            out.extend_from_slice(a.name.as_bytes());
            out.push(a.decimals);
            for part in self.totals[k] {
                out.extend_from_slice(&part.to_le_bytes());
            }
        }
    }

    pub fn read(r: &mut Reader<'_>) -> Result<Self> {
        let start = r.offset();
        let len = r.u16("round id length")? as usize;
        let round_id = r.utf8(len, "round id")?;
        let range_bits = r.u8("range bound")? as u32;
        let num_leaves = r.u64("leaf count")?;
        let root = r.array::<32>("root")?;
        let num_assets = r.u32("asset count")? as usize;
        if num_assets == 0 || num_assets > MAX_ASSETS {
            return Err(Error::format(r.offset() - 4, format!("asset count {num_assets} is not in 1..={MAX_ASSETS}")));
        }
        let mut assets = Vec::new();
        let mut totals = Vec::new();
        for _ in 0..num_assets {
            let name_len = r.u8("asset name length")? as usize;
            let name = r.utf8(name_len, "asset name")?;
            let decimals = r.u8("asset decimals")?;
            let mut parts = [0u64; PARTS];
            for part in parts.iter_mut() {
                let at = r.offset();
                *part = r.u64("total")?;
                if *part >= Felt::MODULUS {
                    return Err(Error::format(at, "total is not a canonical field element"));
                }
            }
            assets.push(Asset { name, decimals });
            totals.push(parts);
        }
        let statement = Statement { round_id, assets, range_bits, num_leaves, root, totals };
        statement.validate().map_err(|e| Error::format(start, e.to_string()))?;
        if digest_from_bytes(&statement.root).is_none() {
            return Err(Error::format(start, "root is not a canonical digest"));
        }
        Ok(statement)
    }
}

/// An asset's price (USD per whole token) and haircut (a fraction in `[0, 1]`), as canonical
/// decimals ([`validate_decimal`]): the very strings under the fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTerm {
    pub price: String,
    pub haircut: String,
}

/// What statement version 3 adds: the prices the collateral condition was proven on and the
/// exact debt totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Margin {
    /// Coefficients are in units of `10^-unit_exp` USD ([`VALUE_UNIT_EXP`] for rounds made now).
    pub unit_exp: u8,
    /// Per asset, in statement order; `None`: no price (no debt allowed, collateral value 0).
    pub prices: Vec<Option<PriceTerm>>,
    /// Exact debt total of each asset in its smallest unit, little-endian bytes (as `totals`).
    pub debt_totals: Vec<Vec<u8>>,
}

impl Margin {
    /// Every field in its domain for `assets`: one price slot and one debt total per asset,
    /// canonical decimals, coefficients in range, and no debt in an unpriced asset.
    pub fn validate(&self, assets: &[Asset]) -> Result<()> {
        if self.debt_totals.len() != assets.len() {
            return Err(Error::Input(format!("{} debt totals for {} assets", self.debt_totals.len(), assets.len())));
        }
        for (a, t) in assets.iter().zip(&self.debt_totals) {
            if minimal(t).len() > u16::MAX as usize {
                return Err(Error::Input(format!("the debt total of {} is longer than {} bytes", a.name, u16::MAX)));
            }
        }
        self.coefficients(assets)?;
        for ((a, p), t) in assets.iter().zip(&self.prices).zip(&self.debt_totals) {
            if p.is_none() && !minimal(t).is_empty() {
                return Err(Error::Input(format!("asset {} has no price but a debt total of {}", a.name, le_decimal(t))));
            }
        }
        Ok(())
    }

    /// The circuit's coefficients of each asset: for a priced asset `⌊price·(1 − haircut)·10^(u − dec)⌋`
    /// (collateral) and `⌈price·10^(u − dec)⌉` (debt), `u = unit_exp`; for an unpriced one 0 and 1.
    /// Errors name the asset and the price.
    pub fn coefficients(&self, assets: &[Asset]) -> Result<Prices> {
        if self.prices.len() != assets.len() {
            return Err(Error::Input(format!("{} prices for {} assets", self.prices.len(), assets.len())));
        }
        let (mut collateral, mut debt) = (Vec::with_capacity(assets.len()), Vec::with_capacity(assets.len()));
        for (a, p) in assets.iter().zip(&self.prices) {
            let (c, d) = match p {
                None => (0, 1),
                Some(term) => {
                    let bad = |why: String| Error::Input(format!("asset {}: price {} with haircut {}: {why}", a.name, term.price, term.haircut));
                    validate_decimal(&term.price, "price").map_err(|e| bad(e.to_string()))?;
                    validate_decimal(&term.haircut, "haircut").map_err(|e| bad(e.to_string()))?;
                    let (c, d) = fold_price(&term.price, &term.haircut, a.decimals as u32, self.unit_exp as u32).map_err(bad)?;
                    if d >> COEF_BITS != 0 {
                        return Err(bad(format!(
                            "the debt value of one smallest unit, {d}·10^-{} USD, is not below 2^{COEF_BITS}",
                            self.unit_exp
                        )));
                    }
                    (c, d)
                },
            };
            collateral.push(c);
            debt.push(d);
        }
        Ok(Prices { collateral, debt })
    }
}

/// A canonical decimal: ASCII `^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$`, at most [`MAX_DECIMAL_DIGITS`]
/// digits, so that its digits read as one integer below `10^38 < 2^128` (no sign, exponent, spaces, leading zeros, trailing fractional zeros or bare
/// point), so that every number has exactly one encoding.
pub fn validate_decimal(s: &str, what: &str) -> Result<()> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let ok = s.bytes().filter(u8::is_ascii_digit).count() <= MAX_DECIMAL_DIGITS
        && digits(int)
        && (int == "0" || !int.starts_with('0'))
        && frac.is_none_or(|f| digits(f) && !f.ends_with('0'));
    if !ok {
        return Err(Error::Input(format!(
            "{what} {s:?} is not a canonical decimal (digits, an optional fraction without trailing zeros, no sign or leading zeros, at most {MAX_DECIMAL_DIGITS} digits)"
        )));
    }
    Ok(())
}

/// Little-endian bytes of an unsigned integer in decimal (for messages).
pub(crate) fn le_decimal(le: &[u8]) -> String {
    let mut words: Vec<u32> = le.chunks(4).map(|c| c.iter().rev().fold(0u32, |acc, &b| acc << 8 | b as u32)).collect();
    let mut digits = Vec::new();
    while words.iter().any(|&w| w != 0) {
        let mut rem = 0u64;
        for w in words.iter_mut().rev() {
            let cur = rem << 32 | *w as u64;
            *w = (cur / 10) as u32;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII digits")
}

/// A round's published statement as a user receives it (the summary JSON): every field the
/// fingerprint binds. It is what an inclusion proof is checked against when the user does not
/// verify the STARK proof themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub round_id: String,
    pub range_bits: u32,
    pub num_leaves: u64,
    pub root: [u8; 32],
    pub assets: Vec<Asset>,
    /// Exact total of each asset in its smallest unit, little-endian bytes of any length
    /// (trailing zero bytes do not change the value nor the fingerprint). Equity totals in
    /// version 3.
    pub totals: Vec<Vec<u8>>,
    /// Version 3's prices and debt totals; `None` in versions 1 and 2.
    pub margin: Option<Margin>,
}

impl Summary {
    /// Every field in the domain a statement of version 1 can have.
    pub fn validate(&self) -> Result<()> {
        self.validate_as(STATEMENT_VERSION)
    }

    /// Every field in the domain a statement of `statement_version` (1, 2 or 3) can have:
    /// version 2 allows range bounds up to 112 bits and at most `crate::v2`'s asset count;
    /// version 3 is version 2 with a valid [`Margin`], which the others must not have.
    pub fn validate_as(&self, statement_version: u16) -> Result<()> {
        validate_round_id(&self.round_id)?;
        let (bits, max_assets) = match statement_version {
            STATEMENT_VERSION => {
                (stark_por_solvency::air::MIN_RANGE_BITS..=stark_por_solvency::air::MAX_RANGE_BITS, MAX_ASSETS)
            },
            crate::v2::STATEMENT_VERSION | STATEMENT_VERSION_MARGIN => {
                (crate::v2::MIN_RANGE_BITS..=crate::v2::MAX_RANGE_BITS, stark_por_liabilities::hash::MAX_ASSETS)
            },
            v => return Err(Error::Input(format!("statement version {v} is unknown (1, 2 or 3)"))),
        };
        match (&self.margin, statement_version) {
            (None, STATEMENT_VERSION_MARGIN) => {
                return Err(Error::Input("a statement of version 3 has prices and debt totals".into()))
            },
            (Some(_), v) if v != STATEMENT_VERSION_MARGIN => {
                return Err(Error::Input(format!("a statement of version {v} has no prices or debt totals")))
            },
            _ => {},
        }
        if !bits.contains(&self.range_bits) {
            return Err(Error::Input(format!("range bound of {} bits is not in {bits:?}", self.range_bits)));
        }
        if self.assets.len() > max_assets {
            return Err(Error::Input(format!(
                "{} assets: a statement of version {statement_version} lists at most {max_assets}",
                self.assets.len()
            )));
        }
        let n = self.num_leaves;
        if n < 2 || !n.is_power_of_two() || n.trailing_zeros() > MAX_DEPTH {
            return Err(Error::Input(format!("the tree size {n} is not a power of two from 2 to 2^{MAX_DEPTH}")));
        }
        if digest_from_bytes(&self.root).is_none() {
            return Err(Error::Input("the root is not a canonical digest".into()));
        }
        if self.totals.len() != self.assets.len() {
            return Err(Error::Input(format!("{} totals for {} assets", self.totals.len(), self.assets.len())));
        }
        for (a, t) in self.assets.iter().zip(&self.totals) {
            if minimal(t).len() > u16::MAX as usize {
                return Err(Error::Input(format!("the total of {} is longer than {} bytes", a.name, u16::MAX)));
            }
        }
        validate_assets(&self.assets)?;
        match &self.margin {
            Some(m) => m.validate(&self.assets),
            None => Ok(()),
        }
    }

    /// The statement fingerprint: SHA-256 over a versioned, length-prefixed encoding of every
    /// published field, totals as exact integers (minimal little-endian bytes, 0 → empty), so
    /// later statement versions extend it without changing what version 1 means:
    ///
    /// ```text
    /// "stark-por/statement" 0x00 ‖ u16le(1) ‖ u16le(len round_id) ‖ round_id ‖ u8(range_bits)
    /// ‖ u64le(num_leaves) ‖ root ‖ u32le(K) ‖ K × (u8(len name) ‖ name ‖ u8(decimals) ‖ u16le(len t) ‖ t)
    /// ```
    ///
    /// Lengths are taken as the encoding's fixed widths: call it on a validated summary.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint_as(STATEMENT_VERSION)
    }

    /// [`Summary::fingerprint`] under another `statement_version` (2: `crate::v2`). Version 3
    /// appends the margin to version 2's encoding (`totals` are then the equity totals):
    ///
    /// ```text
    /// … ‖ u8(unit_exp) ‖ K × ( u16le(len D) ‖ D ‖ u8(priced ∈ {0, 1})
    ///                          ‖ [priced: u8(len price) ‖ price ‖ u8(len haircut) ‖ haircut] )
    /// ```
    ///
    /// `D` the debt total's minimal little-endian bytes, price and haircut their canonical
    /// ASCII decimals.
    pub fn fingerprint_as(&self, statement_version: u16) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(FINGERPRINT_DOMAIN);
        h.update(statement_version.to_le_bytes());
        h.update((self.round_id.len() as u16).to_le_bytes());
        h.update(self.round_id.as_bytes());
        h.update([self.range_bits as u8]);
        h.update(self.num_leaves.to_le_bytes());
        h.update(self.root);
        h.update((self.assets.len() as u32).to_le_bytes());
        for (a, t) in self.assets.iter().zip(&self.totals) {
            let t = minimal(t);
            h.update([a.name.len() as u8]);
            h.update(a.name.as_bytes());
            h.update([a.decimals]);
            h.update((t.len() as u16).to_le_bytes());
            h.update(t);
        }
        if let (STATEMENT_VERSION_MARGIN, Some(m)) = (statement_version, &self.margin) {
            h.update([m.unit_exp]);
            for (d, p) in m.debt_totals.iter().zip(&m.prices) {
                let d = minimal(d);
                h.update((d.len() as u16).to_le_bytes());
                h.update(d);
                hash_price_term(&mut h, p.as_ref());
            }
        }
        h.finalize().into()
    }
}

/// A price term as the fingerprint (and `v2::prices_digest`) encode it: `u8(priced)`, then for a
/// priced asset `u8(len price) ‖ price ‖ u8(len haircut) ‖ haircut`.
pub(crate) fn hash_price_term(h: &mut Sha256, p: Option<&PriceTerm>) {
    match p {
        None => h.update([0]),
        Some(term) => {
            h.update([1]);
            for x in [&term.price, &term.haircut] {
                h.update([x.len() as u8]);
                h.update(x.as_bytes());
            }
        },
    }
}

/// Little-endian bytes of an unsigned integer without its trailing zero bytes.
pub(crate) fn minimal(le: &[u8]) -> &[u8] {
    let len = le.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    &le[..len]
}

/// 1 to [`MAX_ASSETS`] valid assets, no name twice.
pub fn validate_assets(assets: &[Asset]) -> Result<()> {
    if assets.is_empty() || assets.len() > MAX_ASSETS {
        return Err(Error::Input(format!("a statement lists 1 to {MAX_ASSETS} assets, not {}", assets.len())));
    }
    let mut names = std::collections::HashSet::new();
    for a in assets {
        a.validate()?;
        if !names.insert(a.name.as_str()) {
            return Err(Error::Input(format!("asset {} is listed twice", a.name)));
        }
    }
    Ok(())
}

pub fn validate_round_id(round_id: &str) -> Result<()> {
    if round_id.is_empty() || round_id.len() > MAX_ROUND_ID || round_id.chars().any(char::is_control) {
        return Err(Error::Input(format!(
            "round id must be 1 to {MAX_ROUND_ID} bytes without control characters, got {round_id:?}"
        )));
    }
    Ok(())
}

/// Digest binding an asset list (order, names and decimals) into a transcript.
pub fn assets_digest(assets: &[Asset]) -> Digest {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&(assets.len() as u64).to_le_bytes());
    for a in assets {
        bytes.push(a.name.len() as u8);
        bytes.extend_from_slice(a.name.as_bytes());
        bytes.push(a.decimals);
    }
    hash_bytes(ASSETS_TAG, &bytes)
}

pub fn round_digest(round_id: &str) -> Digest {
    hash_bytes(ROUND_TAG, round_id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            round_id: "2026-11".into(),
            range_bits: 62,
            num_leaves: 8,
            root: [7; 32],
            assets: vec![Asset { name: "BTC".into(), decimals: 8 }, Asset { name: "ETH".into(), decimals: 18 }],
            totals: vec![vec![5], vec![]],
            margin: None,
        }
    }

    #[test]
    fn the_fingerprint_is_sha256_of_the_documented_encoding() {
        let s = summary();
        let mut bytes = b"stark-por/statement\0".to_vec();
        bytes.extend_from_slice(&[1, 0, 7, 0]);
        bytes.extend_from_slice(b"2026-11");
        bytes.push(62);
        bytes.extend_from_slice(&8u64.to_le_bytes());
        bytes.extend_from_slice(&[7; 32]);
        bytes.extend_from_slice(&2u32.to_le_bytes());
        bytes.extend_from_slice(&[3, b'B', b'T', b'C', 8, 1, 0, 5]);
        bytes.extend_from_slice(&[3, b'E', b'T', b'H', 18, 0, 0]);
        assert_eq!(s.fingerprint(), <[u8; 32]>::from(Sha256::digest(&bytes)));
    }

    #[test]
    fn trailing_zero_bytes_do_not_change_a_total_and_every_field_counts() {
        let s = summary();
        let mut padded = s.clone();
        padded.totals = vec![vec![5, 0, 0], vec![0; 16]];
        assert_eq!(s.fingerprint(), padded.fingerprint());
        type Tamper = Box<dyn Fn(&mut Summary)>;
        let cases: Vec<Tamper> = vec![
            Box::new(|s| s.round_id.push('x')),
            Box::new(|s| s.range_bits = 63),
            Box::new(|s| s.num_leaves = 16),
            Box::new(|s| s.root[31] ^= 1),
            Box::new(|s| s.assets[0].name = "DOGE".into()),
            Box::new(|s| s.assets[1].decimals = 8),
            Box::new(|s| s.totals[1] = vec![1]),
            Box::new(|s| s.assets.swap(0, 1)),
        ];
        for (i, tamper) in cases.iter().enumerate() {
            let mut t = s.clone();
            tamper(&mut t);
            assert_ne!(t.fingerprint(), s.fingerprint(), "case {i}");
        }
    }

    #[test]
    fn a_statement_and_its_summary_share_the_fingerprint() {
        let st = Statement {
            round_id: "r".into(),
            assets: vec![Asset { name: "BTC".into(), decimals: 8 }],
            range_bits: 62,
            num_leaves: 2,
            root: [0; 32],
            totals: vec![[1, 2, 3]],
        };
        let total = st.total(0);
        let s = Summary { round_id: "r".into(), range_bits: 62, num_leaves: 2, root: [0; 32],
                          assets: st.assets.clone(), totals: vec![total.to_le_bytes().to_vec()], margin: None };
        assert_eq!(st.fingerprint(), s.fingerprint());
        s.validate().unwrap();
    }

    #[test]
    fn a_summary_out_of_domain_is_refused() {
        type Tamper = Box<dyn Fn(&mut Summary)>;
        let cases: Vec<Tamper> = vec![
            Box::new(|s| s.round_id.clear()),
            Box::new(|s| s.range_bits = 64),
            Box::new(|s| s.num_leaves = 6),
            Box::new(|s| s.num_leaves = 1 << 41),
            Box::new(|s| s.root = [0xFF; 32]),
            Box::new(|s| s.totals.pop().map(|_| ()).unwrap_or(())),
            Box::new(|s| s.totals[0] = vec![1; 65_536]),
            Box::new(|s| s.assets[1].name = "BTC".into()),
            Box::new(|s| s.assets[0].decimals = 31),
        ];
        summary().validate().unwrap();
        for (i, tamper) in cases.iter().enumerate() {
            let mut s = summary();
            tamper(&mut s);
            assert!(s.validate().is_err(), "case {i}");
        }
    }

    fn margin_summary() -> Summary {
        let mut s = summary();
        s.range_bits = 112;
        s.margin = Some(Margin {
            unit_exp: VALUE_UNIT_EXP,
            prices: vec![Some(PriceTerm { price: "97000.5".into(), haircut: "0.05".into() }), None],
            debt_totals: vec![vec![0x34, 0x12, 0], vec![]],
        });
        s
    }

    #[test]
    fn the_version_3_fingerprint_is_sha256_of_the_documented_encoding() {
        let s = margin_summary();
        s.validate_as(3).unwrap();
        let mut bytes = b"stark-por/statement\0".to_vec();
        bytes.extend_from_slice(&[3, 0, 7, 0]);
        bytes.extend_from_slice(b"2026-11");
        bytes.push(112);
        bytes.extend_from_slice(&8u64.to_le_bytes());
        bytes.extend_from_slice(&[7; 32]);
        bytes.extend_from_slice(&2u32.to_le_bytes());
        bytes.extend_from_slice(&[3, b'B', b'T', b'C', 8, 1, 0, 5]);
        bytes.extend_from_slice(&[3, b'E', b'T', b'H', 18, 0, 0]);
        bytes.push(27);
        bytes.extend_from_slice(&[2, 0, 0x34, 0x12, 1, 7]);
        bytes.extend_from_slice(b"97000.5");
        bytes.push(4);
        bytes.extend_from_slice(b"0.05");
        bytes.extend_from_slice(&[0, 0, 0]);
        assert_eq!(s.fingerprint_as(3), <[u8; 32]>::from(Sha256::digest(&bytes)));
        // the version-2 part is version 2's encoding under another version number
        let mut v2 = s.clone();
        v2.margin = None;
        assert_ne!(v2.fingerprint_as(2), s.fingerprint_as(3));
        assert_eq!(v2.fingerprint_as(2), s.fingerprint_as(2));
    }

    #[test]
    fn every_margin_field_counts_in_the_fingerprint() {
        let s = margin_summary();
        type Tamper = Box<dyn Fn(&mut Margin)>;
        let cases: Vec<Tamper> = vec![
            Box::new(|m| m.unit_exp = 26),
            Box::new(|m| m.debt_totals[0][0] ^= 1),
            Box::new(|m| m.debt_totals[1] = vec![1]),
            Box::new(|m| m.prices[0].as_mut().unwrap().price = "97000.51".into()),
            Box::new(|m| m.prices[0].as_mut().unwrap().haircut = "0.5".into()),
            Box::new(|m| m.prices[0] = None),
            Box::new(|m| m.prices[1] = Some(PriceTerm { price: "1".into(), haircut: "0".into() })),
            Box::new(|m| m.prices.swap(0, 1)),
        ];
        for (i, tamper) in cases.iter().enumerate() {
            let mut t = s.clone();
            tamper(t.margin.as_mut().unwrap());
            assert_ne!(t.fingerprint_as(3), s.fingerprint_as(3), "case {i}");
        }
        let mut padded = s.clone();
        padded.margin.as_mut().unwrap().debt_totals[1] = vec![0; 9];
        assert_eq!(padded.fingerprint_as(3), s.fingerprint_as(3));
    }

    #[test]
    fn canonical_decimals_have_one_spelling() {
        for ok in ["0", "1", "97000", "97000.5", "0.05", "0.000000012345678901", "1.0000001", &"9".repeat(38), &format!("0.{}1", "0".repeat(36))] {
            validate_decimal(ok, "price").unwrap();
        }
        // 39 digits: above 10^38 its digits would not read as a 128-bit integer
        let long = format!("0.{}1", "0".repeat(37));
        let nines = "9".repeat(39);
        for bad in ["", ".", "1.", ".5", "01", "00", "0.50", "1.0", "-1", "+1", "1e5", " 1", "1 ", "0x10", "nan", "1,5", "１", &long, &nines] {
            assert!(validate_decimal(bad, "price").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn coefficients_fold_the_prices_at_the_assets_decimals() {
        let s = margin_summary();
        let m = s.margin.as_ref().unwrap();
        let p = m.coefficients(&s.assets).unwrap();
        // $97,000.5 a BTC, 5 % haircut: per satoshi in 10^-27 USD
        assert_eq!(p.debt, vec![970_005 * 10u128.pow(18), 1]);
        assert_eq!(p.collateral, vec![92_150_475 * 10u128.pow(16), 0]);
        // a 0-decimal asset above $2.47 has a debt coefficient of 2^91 or more
        let assets = vec![Asset { name: "X".into(), decimals: 0 }];
        let priced = |price: &str| Margin {
            unit_exp: VALUE_UNIT_EXP,
            prices: vec![Some(PriceTerm { price: price.into(), haircut: "0".into() })],
            debt_totals: vec![vec![]],
        };
        priced("2.47").coefficients(&assets).unwrap();
        let err = priced("2.48").coefficients(&assets).unwrap_err().to_string();
        assert!(err.contains("asset X") && err.contains("2.48"), "{err}");
    }

    #[test]
    fn a_version_3_summary_out_of_domain_is_refused() {
        type Tamper = Box<dyn Fn(&mut Summary)>;
        let term = |p: &str, h: &str| Some(PriceTerm { price: p.into(), haircut: h.into() });
        let cases: Vec<Tamper> = vec![
            Box::new(|s| s.margin = None),
            Box::new(|s| s.range_bits = 31),
            Box::new(|s| s.margin.as_mut().unwrap().prices.pop().map(drop).unwrap()),
            Box::new(|s| s.margin.as_mut().unwrap().debt_totals.push(vec![])),
            Box::new(|s| s.margin.as_mut().unwrap().debt_totals[0] = vec![1; 65_536]),
            // an unpriced asset with debt
            Box::new(|s| s.margin.as_mut().unwrap().debt_totals[1] = vec![1]),
            Box::new(move |s| s.margin.as_mut().unwrap().prices[0] = term("97000.50", "0.05")),
            Box::new(move |s| s.margin.as_mut().unwrap().prices[0] = term("0", "0.05")),
            Box::new(move |s| s.margin.as_mut().unwrap().prices[0] = term("-1", "0.05")),
            Box::new(move |s| s.margin.as_mut().unwrap().prices[0] = term("1", "1.5")),
            Box::new(move |s| s.margin.as_mut().unwrap().prices[0] = term("1", "1e-2")),
            // BTC at $10^9: 10^9·10^19 per satoshi is above 2^91
            Box::new(move |s| s.margin.as_mut().unwrap().prices[0] = term("1000000000", "0")),
        ];
        let s = margin_summary();
        s.validate_as(3).unwrap();
        assert!(s.validate_as(2).is_err(), "version 2 has no margin");
        for (i, tamper) in cases.iter().enumerate() {
            let mut t = margin_summary();
            tamper(&mut t);
            assert!(t.validate_as(3).is_err(), "case {i}");
        }
        let mut ok = margin_summary();
        ok.margin.as_mut().unwrap().prices[1] = term("1", "1");
        ok.validate_as(3).unwrap();
    }
}
