//! The public statement of a liabilities proof and its canonical byte encoding.

use stark_por_solvency::hash::{digest_from_bytes, digest_to_bytes, hash_bytes, Digest, ASSETS_TAG, ROUND_TAG};
use stark_por_solvency::air::combine_parts;
use stark_por_solvency::layout::PARTS;
use stark_por_solvency::PublicInputs;
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

    pub fn validate(&self) -> Result<()> {
        validate_round_id(&self.round_id)?;
        if self.assets.is_empty() || self.assets.len() > MAX_ASSETS {
            return Err(Error::Input(format!("a statement lists 1 to {MAX_ASSETS} assets, not {}", self.assets.len())));
        }
        let mut names = std::collections::HashSet::new();
        for a in &self.assets {
            a.validate()?;
            if !names.insert(a.name.as_str()) {
                return Err(Error::Input(format!("asset {} is listed twice", a.name)));
            }
        }
        Ok(())
    }

    /// Digest binding the asset list (order, names and decimals) into the transcript.
    pub fn assets_digest(&self) -> Digest {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(self.assets.len() as u64).to_le_bytes());
        for a in &self.assets {
            bytes.push(a.name.len() as u8);
            bytes.extend_from_slice(a.name.as_bytes());
            bytes.push(a.decimals);
        }
        hash_bytes(ASSETS_TAG, &bytes)
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

pub fn validate_round_id(round_id: &str) -> Result<()> {
    if round_id.is_empty() || round_id.len() > MAX_ROUND_ID || round_id.chars().any(char::is_control) {
        return Err(Error::Input(format!(
            "round id must be 1 to {MAX_ROUND_ID} bytes without control characters, got {round_id:?}"
        )));
    }
    Ok(())
}

pub fn round_digest(round_id: &str) -> Digest {
    hash_bytes(ROUND_TAG, round_id.as_bytes())
}
