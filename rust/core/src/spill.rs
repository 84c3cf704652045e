//! Placing a ledger that arrives in chunks, in memory bounded by a chunk and a batch.
//!
//! A round's leaf order is the ascending order of the secret position keys of all users and
//! padding slots (`kdf::position_key`), exactly as for a ledger held in memory. Sorting that
//! needs no global array: each user is appended, as it streams past, to one of 256 bucket
//! files chosen by the first byte of its key. Once the ledger has been read, the padding slots
//! are appended the same way and every bucket is sorted on its own. The leaf at position `p`
//! is then found by walking the bucket counts, and batch `i` (positions `i·2^k ..`) reads only
//! the few buckets it overlaps. Keys are uniform, so a bucket holds about `N'/256` records.
//!
//! Two records with the same key are the same user id (HMAC-SHA256 does not collide): they
//! meet when their bucket is sorted, so duplicate ids are refused however far apart they stood.
//!
//! The folder is private working state (ids and balances): it is created mode 0700 and removed
//! by the caller once the round is written. The layout file is written last, atomically: a
//! folder without it holds no finished placement and is read again from the ledger.
//!
//! Bucket record: `key (32) | ordinal u64 | id length u16 | id | entries u32 | (asset u32,
//! amount)*` — the ordinal is the user's 0-based place in the ledger (for error messages),
//! or the padding index when the id length is 0. Assets are numbered from 1. An amount is a
//! u64 in a placement for statement version 1 and a u128 for version 2 (amounts up to
//! `2^112`); the layout file's magic says which (`STPRLAY1`, `STPRLAY2`), so a folder is never
//! read with the other record width. A version-2 placement also keeps each leaf's block count in
//! leaf order (`blocks.bin`, a u16 little-endian a leaf, written before the layout): what the forest plan
//! is cut from (`v2::stream`).
//!
//! A placement for statement version 3 (margin, `STPRLAY3`) has version 2's records, except
//! that an entry's u32 is its tag `2·asset + kind` (kind 0 equity, 1 debt), and its block counts
//! are the planner's leaf costs (a borrower's margin rows included). It is made with the
//! round's prices, kept in `prices.bin` (`unit_exp u8 | K × (priced u8 | [price length u8 |
//! price | haircut length u8 | haircut])`, written when the spill is created): the ledger's
//! debts are checked against them as they stream in, and the placement is never reopened with
//! other prices.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use stark_por_solvency::hash::id_commitment;
use stark_por_solvency::Leaf;

use crate::batch::{BatchJob, BatchOutput};
use crate::error::{Error, Result};
use crate::round::batch_params_and_seed;
use crate::statement::{PriceTerm, Statement};
use crate::v2::{RoundPrices, WideLedgerRef};
use crate::{check_ledger, check_stub, kdf, Asset, LedgerRef, Security};

/// Buckets a round is spread over.
pub const BUCKETS: usize = 256;
const LAYOUT_FILE: &str = "layout.bin";
const BLOCKS_FILE: &str = "blocks.bin";
const PRICES_FILE: &str = "prices.bin";

/// The statement version a placement is made for: it fixes the width of the amounts in the
/// bucket records and the layout file's magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
    /// Version 2 with margin: entries carry their kind, the placement its prices.
    V3,
}

impl Version {
    /// Version `n` (1, 2 or 3) of the statement.
    pub fn of(n: u16) -> Result<Self> {
        match n {
            1 => Ok(Version::V1),
            2 => Ok(Version::V2),
            3 => Ok(Version::V3),
            _ => Err(Error::Input(format!("statement version {n} is not 1, 2 or 3"))),
        }
    }

    pub fn number(self) -> u16 {
        match self {
            Version::V1 => 1,
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }

    fn amount_bytes(self) -> usize {
        match self {
            Version::V1 => 8,
            Version::V2 | Version::V3 => 16,
        }
    }

    pub(crate) fn layout_magic(self) -> &'static [u8; 8] {
        match self {
            Version::V1 => b"STPRLAY1",
            Version::V2 => b"STPRLAY2",
            Version::V3 => b"STPRLAY3",
        }
    }

    /// Whether the round is proved as forests (versions 2 and 3).
    pub fn forests(self) -> bool {
        self != Version::V1
    }
}

pub(crate) fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Work(format!("{}: {e}", path.display()))
}

fn bucket_path(dir: &Path, bucket: usize) -> PathBuf {
    dir.join(format!("bucket-{bucket:03}.bin"))
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| io_error(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

/// One record of a bucket file.
pub(crate) struct Record<'a> {
    key: &'a [u8],
    pub(crate) ordinal: u64,
    /// Empty for a padding slot.
    pub(crate) id: &'a [u8],
    /// (asset numbered from 1, amount); in version 3 (tag `2·asset + kind`, amount).
    pub(crate) entries: Vec<(u32, u128)>,
}

fn encode_record(
    out: &mut Vec<u8>,
    version: Version,
    key: &[u8; 32],
    ordinal: u64,
    id: &[u8],
    entries: impl ExactSizeIterator<Item = (u32, u128)>,
) {
    out.extend_from_slice(key);
    out.extend_from_slice(&ordinal.to_le_bytes());
    out.extend_from_slice(&(id.len() as u16).to_le_bytes());
    out.extend_from_slice(id);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (asset, amount) in entries {
        out.extend_from_slice(&asset.to_le_bytes());
        out.extend_from_slice(&amount.to_le_bytes()[..version.amount_bytes()]);
    }
}

/// Splits a bucket file into records. Our own file: a malformed one is damaged working state.
fn parse_records<'a>(path: &Path, bytes: &'a [u8], version: Version) -> Result<Vec<Record<'a>>> {
    let damaged = || Error::Work(format!("{}: damaged bucket file; remove the work folder and prove again", path.display()));
    let mut out = Vec::new();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&'a [u8]> {
        let s = bytes.get(*at..*at + n).ok_or_else(damaged)?;
        *at += n;
        Ok(s)
    };
    while at < bytes.len() {
        let key = take(&mut at, 32)?;
        let ordinal = u64::from_le_bytes(take(&mut at, 8)?.try_into().unwrap_or_default());
        let id_len = u16::from_le_bytes(take(&mut at, 2)?.try_into().unwrap_or_default()) as usize;
        let id = take(&mut at, id_len)?;
        let k = u32::from_le_bytes(take(&mut at, 4)?.try_into().unwrap_or_default()) as usize;
        let width = 4 + version.amount_bytes();
        let raw = take(&mut at, k.checked_mul(width).ok_or_else(damaged)?)?;
        let entries = raw
            .chunks_exact(width)
            .map(|e| {
                let mut amount = [0u8; 16];
                amount[..width - 4].copy_from_slice(&e[4..]);
                (u32::from_le_bytes([e[0], e[1], e[2], e[3]]), u128::from_le_bytes(amount))
            })
            .collect();
        out.push(Record { key, ordinal, id, entries });
    }
    Ok(out)
}

/// Where the leaves of a round are: how many records each sorted bucket holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub version: Version,
    pub num_users: u64,
    pub num_leaves: u64,
    pub counts: Vec<u64>,
}

impl Layout {
    /// The finished layout in `dir`, or `None` when placement did not finish there.
    pub fn load(dir: &Path) -> Result<Option<Layout>> {
        let path = dir.join(LAYOUT_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, e)),
        };
        let word = |i: usize| bytes.get(8 + 8 * i..16 + 8 * i).map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default()));
        let version =
            [Version::V1, Version::V2, Version::V3].into_iter().find(|v| bytes.get(..8) == Some(&v.layout_magic()[..]));
        let Some(version) = version.filter(|_| bytes.len() == 8 + 8 * (2 + BUCKETS)) else {
            return Err(Error::Work(format!("{}: damaged layout file", path.display())));
        };
        let (num_users, num_leaves) = (word(0).unwrap_or(0), word(1).unwrap_or(0));
        let counts: Vec<u64> = (0..BUCKETS).map(|b| word(2 + b).unwrap_or(0)).collect();
        let total = counts.iter().try_fold(0u64, |sum, &c| sum.checked_add(c));
        let expected = num_users.checked_next_power_of_two().map(|n| n.max(2));
        if total != Some(num_leaves) || expected != Some(num_leaves) || num_leaves > crate::round::MAX_ROUND_LEAVES {
            return Err(Error::Work(format!("{}: damaged layout file", path.display())));
        }
        Ok(Some(Layout { version, num_users, num_leaves, counts }))
    }

    fn save(&self, dir: &Path) -> Result<()> {
        let mut bytes = self.version.layout_magic().to_vec();
        for w in [self.num_users, self.num_leaves].iter().chain(&self.counts) {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        write_atomically(&dir.join(LAYOUT_FILE), &bytes)
    }

    /// Position of the first record of each bucket.
    fn starts(&self) -> Vec<u64> {
        self.counts.iter().scan(0u64, |acc, &c| {
            let start = *acc;
            *acc += c;
            Some(start)
        }).collect()
    }
}

/// Users streaming into bucket files.
pub struct Spill {
    version: Version,
    dir: PathBuf,
    secret: Vec<u8>,
    round_id: String,
    assets: Vec<Asset>,
    range_bits: u32,
    /// Version 3: the round's prices.
    prices: Option<RoundPrices>,
    writers: Vec<BufWriter<File>>,
    num_users: u64,
}

/// The prices file's bytes.
fn encode_prices(prices: &RoundPrices) -> Vec<u8> {
    let mut out = vec![prices.unit_exp];
    for term in &prices.terms {
        match term {
            None => out.push(0),
            Some(t) => {
                out.push(1);
                for x in [&t.price, &t.haircut] {
                    out.push(x.len() as u8);
                    out.extend_from_slice(x.as_bytes());
                }
            },
        }
    }
    out
}

/// The price terms in a prices file, `None` if it is not one.
fn decode_prices(bytes: &[u8], num_assets: usize) -> Option<(u8, Vec<Option<PriceTerm>>)> {
    let (&unit_exp, mut rest) = bytes.split_first()?;
    let text = |rest: &mut &[u8]| -> Option<String> {
        let (&len, tail) = rest.split_first()?;
        let (s, tail) = tail.split_at_checked(len as usize)?;
        *rest = tail;
        String::from_utf8(s.to_vec()).ok()
    };
    let mut terms = Vec::with_capacity(num_assets);
    for _ in 0..num_assets {
        let (&flag, tail) = rest.split_first()?;
        rest = tail;
        terms.push(match flag {
            0 => None,
            1 => Some(PriceTerm { price: text(&mut rest)?, haircut: text(&mut rest)? }),
            _ => return None,
        });
    }
    rest.is_empty().then_some((unit_exp, terms))
}

impl Spill {
    /// Starts placing a round's users in `dir` for statement version 1 (created private; earlier
    /// placement removed).
    pub fn create(dir: &Path, secret: &[u8], round_id: &str, assets: &[Asset], range_bits: u32) -> Result<Self> {
        Self::create_for(Version::V1, dir, secret, round_id, assets, range_bits)
    }

    /// [`Spill::create`] for statement version `version` (1 or 2; version 3 needs prices:
    /// [`Spill::create_priced`]).
    pub fn create_for(version: Version, dir: &Path, secret: &[u8], round_id: &str, assets: &[Asset], range_bits: u32) -> Result<Self> {
        if version == Version::V3 {
            return Err(Error::Input("a placement for statement version 3 is made with the round's prices".into()));
        }
        Self::create_inner(version, dir, secret, round_id, assets, range_bits, None)
    }

    /// Starts placing a round of statement version 3 with `prices` (one per asset, `None`
    /// unpriced): chunks may hold debts, checked against them as they are appended.
    pub fn create_priced(
        dir: &Path,
        secret: &[u8],
        round_id: &str,
        assets: &[Asset],
        range_bits: u32,
        prices: &[Option<PriceTerm>],
    ) -> Result<Self> {
        let prices = RoundPrices::new(assets, prices)?;
        Self::create_inner(Version::V3, dir, secret, round_id, assets, range_bits, Some(prices))
    }

    fn create_inner(
        version: Version,
        dir: &Path,
        secret: &[u8],
        round_id: &str,
        assets: &[Asset],
        range_bits: u32,
        prices: Option<RoundPrices>,
    ) -> Result<Self> {
        check_stub_for(version, secret, round_id, assets, range_bits)?;
        create_private_dir(dir)?;
        for name in [LAYOUT_FILE, BLOCKS_FILE, PRICES_FILE] {
            let path = dir.join(name);
            if path.exists() {
                fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
            }
        }
        if let Some(p) = &prices {
            write_atomically(&dir.join(PRICES_FILE), &encode_prices(p))?;
        }
        let writers = (0..BUCKETS)
            .map(|b| {
                let path = bucket_path(dir, b);
                let file = OpenOptions::new().create(true).write(true).truncate(true).open(&path).map_err(|e| io_error(&path, e))?;
                Ok(BufWriter::with_capacity(64 << 10, file))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Spill {
            version,
            dir: dir.to_path_buf(),
            secret: secret.to_vec(),
            round_id: round_id.to_string(),
            assets: assets.to_vec(),
            range_bits,
            prices,
            writers,
            num_users: 0,
        })
    }

    pub fn num_users(&self) -> u64 {
        self.num_users
    }

    /// [`Spill::append`] of a chunk given as its arrays, under the round's assets and bound.
    pub fn append_parts(&mut self, user_ids: &[String], indptr: &[u64], asset_index: &[u32], amounts: &[u64]) -> Result<()> {
        let assets = self.assets.clone();
        self.append(&LedgerRef { user_ids, assets: &assets, indptr, asset_index, amounts, range_bits: self.range_bits })
    }

    /// [`Spill::append_wide`] of a chunk given as its arrays, under the round's assets and bound
    /// (`kinds` empty: all equity).
    pub fn append_wide_parts(
        &mut self,
        user_ids: &[String],
        indptr: &[u64],
        asset_index: &[u32],
        amounts_lo: &[u64],
        amounts_hi: &[u64],
        kinds: &[u8],
    ) -> Result<()> {
        let assets = self.assets.clone();
        let range_bits = self.range_bits;
        self.append_wide(&WideLedgerRef { user_ids, assets: &assets, indptr, asset_index, amounts_lo, amounts_hi, kinds, range_bits })
    }

    fn check_chunk(&self, version: Version, assets: &[Asset], range_bits: u32) -> Result<()> {
        // a wide chunk goes to a placement of version 2 or 3 (whose prices decide about debts)
        let same = version == self.version || (version == Version::V2 && self.version == Version::V3);
        if !same {
            return Err(Error::Input(format!(
                "a chunk of statement version {} for a placement of version {}",
                version.number(),
                self.version.number()
            )));
        }
        if assets != self.assets.as_slice() || range_bits != self.range_bits {
            return Err(Error::Input("a chunk's assets or range bound differ from the round's".into()));
        }
        Ok(())
    }

    /// Appends the next chunk of users (in ledger order) to a placement for version 1.
    pub fn append(&mut self, chunk: &LedgerRef<'_>) -> Result<()> {
        self.check_chunk(Version::V1, chunk.assets, chunk.range_bits)?;
        if chunk.user_ids.is_empty() {
            return Ok(());
        }
        check_ledger(chunk, self.num_users as usize)?;
        self.write_users(chunk.user_ids, chunk.indptr, |e| (chunk.asset_index[e] + 1, chunk.amounts[e] as u128))
    }

    /// Appends the next chunk of users (in ledger order) to a placement for version 2, or for
    /// version 3 (debts allowed, checked against the round's prices).
    pub fn append_wide(&mut self, chunk: &WideLedgerRef<'_>) -> Result<()> {
        self.check_chunk(Version::V2, chunk.assets, chunk.range_bits)?;
        if chunk.user_ids.is_empty() {
            return Ok(());
        }
        chunk.check_from(self.num_users as usize, self.prices.as_ref())?;
        if self.version == Version::V3 {
            self.write_users(chunk.user_ids, chunk.indptr, |e| (chunk.tag(e), chunk.amount(e)))
        } else {
            self.write_users(chunk.user_ids, chunk.indptr, |e| (chunk.asset_index[e] + 1, chunk.amount(e)))
        }
    }

    /// Writes checked users to their buckets; `entry(e)` is entry `e` as (asset from 1, amount).
    fn write_users(&mut self, user_ids: &[String], indptr: &[u64], entry: impl Fn(usize) -> (u32, u128)) -> Result<()> {
        let (secret, round_id) = (&self.secret, &self.round_id);
        let keys: Vec<[u8; 32]> =
            user_ids.par_iter().map(|id| kdf::position_key(secret, round_id, kdf::Slot::User(id))).collect();
        let mut record = Vec::with_capacity(512);
        for (i, (id, key)) in user_ids.iter().zip(&keys).enumerate() {
            let (lo, hi) = (indptr[i] as usize, indptr[i + 1] as usize);
            record.clear();
            encode_record(&mut record, self.version, key, self.num_users + i as u64, id.as_bytes(), (lo..hi).map(&entry));
            let b = key[0] as usize;
            self.writers[b].write_all(&record).map_err(|e| io_error(&bucket_path(&self.dir, b), e))?;
        }
        self.num_users += user_ids.len() as u64;
        Ok(())
    }

    /// Adds the padding slots, sorts every bucket (refusing duplicate ids) and writes the
    /// layout. `on_bucket` is called after each bucket is sorted (for progress).
    pub fn finish(mut self, on_bucket: &(dyn Fn() + Sync)) -> Result<Layout> {
        let n = self.num_users;
        if n == 0 {
            return Err(Error::Ledger { user: None, asset: None, message: "the ledger has no users".into() });
        }
        let num_leaves = n.next_power_of_two().max(2);
        if num_leaves > crate::round::MAX_ROUND_LEAVES {
            return Err(Error::Input(format!("a round holds at most 2^40 leaves, not {num_leaves}")));
        }
        let (secret, round_id) = (&self.secret, &self.round_id);
        let mut record = Vec::with_capacity(64);
        for start in (0..num_leaves - n).step_by(1 << 16) {
            let end = (start + (1 << 16)).min(num_leaves - n);
            let keys: Vec<[u8; 32]> =
                (start..end).into_par_iter().map(|i| kdf::position_key(secret, round_id, kdf::Slot::Padding(i))).collect();
            for (i, key) in (start..end).zip(&keys) {
                record.clear();
                encode_record(&mut record, self.version, key, i, b"", std::iter::empty());
                self.writers[key[0] as usize].write_all(&record).map_err(|e| io_error(&self.dir, e))?;
            }
        }
        for (b, w) in self.writers.drain(..).enumerate() {
            let file = w.into_inner().map_err(|e| io_error(&bucket_path(&self.dir, b), e.into_error()))?;
            file.sync_all().map_err(|e| io_error(&bucket_path(&self.dir, b), e))?;
        }
        let (dir, version) = (&self.dir, self.version);
        let sorted = (0..BUCKETS)
            .into_par_iter()
            .map(|b| {
                let sorted = sort_bucket(&bucket_path(dir, b), version)?;
                on_bucket();
                Ok(sorted)
            })
            .collect::<Result<Vec<(u64, Vec<u8>)>>>()?;
        let (counts, blocks): (Vec<u64>, Vec<Vec<u8>>) = sorted.into_iter().unzip();
        if version.forests() {
            write_atomically(&dir.join(BLOCKS_FILE), &blocks.concat())?;
        }
        let layout = Layout { version, num_users: n, num_leaves, counts };
        layout.save(dir)?;
        Ok(layout)
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) => Err(io_error(dir, e)),
    }
}

/// Checks what a placement for `version` is made for (the secret, round id, assets and range
/// bound); returns version 1's statement stub, whose fields a placement of either version uses.
fn check_stub_for(version: Version, secret: &[u8], round_id: &str, assets: &[Asset], range_bits: u32) -> Result<Statement> {
    match version {
        Version::V1 => check_stub(secret, round_id, assets, range_bits),
        Version::V2 | Version::V3 => {
            crate::v2::stub(secret, round_id, assets, range_bits, 2)?;
            Ok(Statement { round_id: round_id.into(), assets: assets.to_vec(), range_bits, num_leaves: 0, root: [0; 32], totals: vec![] })
        },
    }
}

/// Sorts a bucket file by key in place (atomically); returns its record count and, for versions
/// 2 and 3, each record's planner cost (`v2::leaf_cost`) in sorted order.
fn sort_bucket(path: &Path, version: Version) -> Result<(u64, Vec<u8>)> {
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    let mut records = parse_records(path, &bytes, version)?;
    records.sort_unstable_by(|a, b| a.key.cmp(b.key));
    for pair in records.windows(2) {
        if pair[0].key == pair[1].key {
            let (a, b) = (pair[0].ordinal.min(pair[1].ordinal), pair[0].ordinal.max(pair[1].ordinal));
            let id = String::from_utf8_lossy(pair[0].id);
            return Err(Error::Ledger {
                user: Some(b as usize),
                asset: None,
                message: format!("user {b}: duplicate user id {id:?} (first seen as user {a})"),
            });
        }
    }
    let mut out = Vec::with_capacity(bytes.len());
    for r in &records {
        encode_record(&mut out, version, r.key.try_into().unwrap_or(&[0; 32]), r.ordinal, r.id, r.entries.iter().copied());
    }
    write_atomically(path, &out)?;
    let blocks = match version {
        Version::V1 => vec![],
        // the appended users were checked to fit a leaf's block count in 16 bits
        Version::V2 => records
            .iter()
            .flat_map(|r| (stark_por_liabilities::hash::leaf_blocks(r.entries.len()) as u16).to_le_bytes())
            .collect(),
        Version::V3 => records.iter().flat_map(|r| crate::v2::leaf_cost(&tagged_entries(&r.entries)).to_le_bytes()).collect(),
    };
    Ok((records.len() as u64, blocks))
}

/// A version-3 record's entries as the circuit's.
pub(crate) fn tagged_entries(entries: &[(u32, u128)]) -> Vec<stark_por_liabilities::Entry> {
    entries.iter().map(|&(tag, amount)| stark_por_liabilities::Entry { tag, amount }).collect()
}

/// A user's row in leaf order: what the inclusion store keeps.
pub struct UserRow {
    pub user_id: String,
    pub position: u64,
    pub salt: [u8; 32],
    /// (asset, amount), assets numbered from 1; in a version-3 placement (tag, amount), the tag
    /// `2·asset + kind`.
    pub entries: Vec<(u32, u128)>,
}

/// A placed round: reads batches and users back from the sorted buckets of its folder.
pub struct Placement {
    pub(crate) dir: PathBuf,
    layout: Layout,
    pub(crate) secret: Vec<u8>,
    /// The round's statement without the proof-dependent fields (version 1's struct, whose
    /// fields a placement of either version uses).
    pub(crate) stub: Statement,
    /// Version 3: the prices it was made with.
    pub(crate) prices: Option<RoundPrices>,
}

impl Placement {
    /// The placement finished in `dir` for this secret, round id, asset list and range bound,
    /// for the statement version its layout names.
    pub fn open(dir: &Path, secret: &[u8], round_id: &str, assets: &[Asset], range_bits: u32) -> Result<Self> {
        Self::open_priced(dir, secret, round_id, assets, range_bits, None)
    }

    /// [`Placement::open`] with the round's prices: a placement of version 3 opens only with the
    /// very prices it was made with, one of version 1 or 2 only without.
    pub fn open_priced(
        dir: &Path,
        secret: &[u8],
        round_id: &str,
        assets: &[Asset],
        range_bits: u32,
        prices: Option<&[Option<PriceTerm>]>,
    ) -> Result<Self> {
        let layout = Layout::load(dir)?
            .ok_or_else(|| Error::Work(format!("{}: the ledger was not placed here", dir.display())))?;
        let stub = check_stub_for(layout.version, secret, round_id, assets, range_bits)?;
        let prices = match (layout.version, prices) {
            (Version::V3, Some(given)) => {
                let path = dir.join(PRICES_FILE);
                let bytes = fs::read(&path).map_err(|e| io_error(&path, e))?;
                let damaged = || Error::Work(format!("{}: damaged prices file", path.display()));
                let (unit_exp, terms) = decode_prices(&bytes, assets.len()).ok_or_else(damaged)?;
                if terms != given {
                    return Err(Error::Input(format!(
                        "{}: the ledger was placed with other prices; give the same prices or place it again",
                        dir.display()
                    )));
                }
                let prices = RoundPrices::new(assets, &terms).map_err(|_| damaged())?;
                if prices.unit_exp != unit_exp {
                    return Err(damaged());
                }
                Some(prices)
            },
            (Version::V3, None) => {
                return Err(Error::Input(format!("{}: the ledger was placed for statement version 3: give its prices", dir.display())))
            },
            (v, Some(_)) => {
                return Err(Error::Input(format!(
                    "{}: the ledger was placed for statement version {}, without prices",
                    dir.display(),
                    v.number()
                )))
            },
            (_, None) => None,
        };
        Ok(Placement { dir: dir.to_path_buf(), layout, secret: secret.to_vec(), stub, prices })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Refuses work of statement version `version` on a placement of another (version 2 means
    /// a round of forests: version 2 or 3).
    pub(crate) fn require(&self, version: Version) -> Result<()> {
        let fits = match version {
            Version::V1 => self.layout.version == Version::V1,
            _ => self.layout.version.forests(),
        };
        if !fits {
            return Err(Error::Work(format!(
                "{}: the ledger was placed for statement version {}, not {}",
                self.dir.display(),
                self.layout.version.number(),
                version.number()
            )));
        }
        Ok(())
    }

    /// Each leaf's planner cost, in leaf order (versions 2 and 3).
    pub(crate) fn blocks(&self) -> Result<Vec<u16>> {
        self.require(Version::V2)?;
        let path = self.dir.join(BLOCKS_FILE);
        let bytes = fs::read(&path).map_err(|e| io_error(&path, e))?;
        if bytes.len() as u64 != 2 * self.layout.num_leaves {
            return Err(Error::Work(format!("{}: {} bytes of block counts for {} leaves", path.display(), bytes.len(), self.layout.num_leaves)));
        }
        Ok(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
    }

    /// Calls `f(position, record)` for the records at positions `lo..hi`, in order.
    pub(crate) fn for_each(&self, lo: u64, hi: u64, mut f: impl FnMut(u64, Record<'_>) -> Result<()>) -> Result<()> {
        let starts = self.layout.starts();
        for (b, (&start, &count)) in starts.iter().zip(&self.layout.counts).enumerate() {
            if count == 0 || start + count <= lo || start >= hi {
                continue;
            }
            let path = bucket_path(&self.dir, b);
            let bytes = fs::read(&path).map_err(|e| io_error(&path, e))?;
            let records = parse_records(&path, &bytes, self.layout.version)?;
            if records.len() as u64 != count {
                return Err(Error::Work(format!("{}: holds {} records, the layout says {count}", path.display(), records.len())));
            }
            for (j, r) in records.into_iter().enumerate() {
                let p = start + j as u64;
                if (lo..hi).contains(&p) {
                    // entries were checked when appended: one out of the round's domain means
                    // the file was damaged since (and must not reach a leaf as another asset)
                    if !r.entries.iter().all(|&(asset, amount)| self.entry_in_domain(asset, amount)) {
                        return Err(Error::Work(format!(
                            "{}: damaged bucket file (record {j} holds an asset or amount out of the round's domain); \
                             remove the work folder and prove again",
                            path.display()
                        )));
                    }
                    f(p, r)?;
                }
            }
        }
        Ok(())
    }

    /// Whether `(asset, amount)` may be an entry of this round: an asset of its list (from 1)
    /// and an amount in `[1, 2^range_bits)`.
    fn entry_in_domain(&self, asset: u32, amount: u128) -> bool {
        // version 3: `asset` is the tag, and a debt's asset has a price
        let (asset, debt) = match &self.prices {
            Some(_) => (asset / 2, asset % 2 == 1),
            None => (asset, false),
        };
        let priced = || self.prices.as_ref().is_some_and(|p| p.terms.get(asset as usize - 1).is_some_and(Option::is_some));
        (1..=self.stub.assets.len()).contains(&(asset as usize))
            && amount != 0
            && amount >> self.stub.range_bits == 0
            && (!debt || priced())
    }

    /// The id commitment of a record: a user's (id empty: padding slot `ordinal`'s).
    pub(crate) fn id_commitment(&self, ordinal: u64, id: &[u8]) -> stark_por_solvency::hash::Digest {
        let round_id = &self.stub.round_id;
        if id.is_empty() {
            return id_commitment(&kdf::padding_salt(&self.secret, round_id, ordinal), b"");
        }
        id_commitment(&kdf::user_salt_bytes(&self.secret, round_id, id), id)
    }

    /// The version-1 leaf of a record (its amounts were checked below `2^63` when appended).
    fn leaf(&self, ordinal: u64, id: &[u8], entries: Vec<(u32, u128)>) -> Leaf {
        Leaf { idc: self.id_commitment(ordinal, id), entries: entries.into_iter().map(|(a, x)| (a, x as u64)).collect() }
    }

    /// The job of batch `index` of `2^batch_log2` leaves (the whole round when it is one batch).
    pub fn batch_job(&self, security: Security, batch_log2: u32, index: u64) -> Result<BatchJob> {
        self.require(Version::V1)?;
        let size = 1u64 << batch_log2.min(self.layout.num_leaves.ilog2());
        let count = self.layout.num_leaves / size;
        if index >= count {
            return Err(Error::Input(format!("batch {index} is not one of the round's {count}")));
        }
        let mut records = Vec::with_capacity(size as usize);
        self.for_each(index * size, (index + 1) * size, |_, r| {
            records.push((r.ordinal, r.id.to_vec(), r.entries));
            Ok(())
        })?;
        let leaves: Vec<Leaf> =
            records.into_par_iter().map(|(ordinal, id, entries)| self.leaf(ordinal, &id, entries)).collect();
        let (params, seed) = batch_params_and_seed(&self.stub, &self.secret, index, count, &leaves);
        Ok(BatchJob { index, count, security, params, seed, leaves })
    }

    /// The round file from the batch results in `outputs` (index order): file, statement and
    /// the nodes above the batches.
    pub fn assemble(&self, batch_log2: u32, outputs: &[PathBuf]) -> Result<(Vec<u8>, Statement, Vec<[u8; 32]>)> {
        self.require(Version::V1)?;
        let size = 1usize << batch_log2.min(self.layout.num_leaves.ilog2());
        let decoded = outputs.iter().map(|path| {
            let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
            BatchOutput::from_bytes(&bytes, self.stub.assets.len(), size)
                .map_err(|e| Error::Work(format!("{}: damaged batch result ({e})", path.display())))
        });
        crate::round::assemble(&self.stub, self.layout.num_leaves, batch_log2, decoded)
    }

    /// The users of bucket `bucket`, in leaf order (padding skipped), with positions and salts.
    pub fn users_in_bucket(&self, bucket: usize) -> Result<Vec<UserRow>> {
        if bucket >= BUCKETS {
            return Err(Error::Input(format!("bucket {bucket} is not one of {BUCKETS}")));
        }
        let (start, count) = (self.layout.starts()[bucket], self.layout.counts[bucket]);
        let mut rows = Vec::new();
        self.for_each(start, start + count, |position, r| {
            if !r.id.is_empty() {
                let user_id = String::from_utf8(r.id.to_vec())
                    .map_err(|_| Error::Work("a bucket file holds an id that is not UTF-8".into()))?;
                let salt = kdf::user_salt_bytes(&self.secret, &self.stub.round_id, r.id);
                rows.push(UserRow { user_id, position, salt, entries: r.entries });
            }
            Ok(())
        })?;
        Ok(rows)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::batch::prove_batch;
    use crate::round::{assemble, prove_round, tests::ledger};

    const SECRET: &[u8] = b"spill-test-secret-0123456789";

    fn stub(l: &crate::round::tests::Owned) -> Statement {
        check_stub(SECRET, "r-1", &l.assets, 62).unwrap()
    }

    /// Streams `l` in chunks of `chunk` users through a fresh folder and opens its placement.
    fn placed(l: &crate::round::tests::Owned, chunk: usize) -> (Placement, Layout, tempfile_dir::Dir) {
        let dir = tempfile_dir::Dir::new();
        let mut spill = Spill::create(dir.path(), SECRET, "r-1", &l.assets, 62).unwrap();
        for lo in (0..l.ids.len()).step_by(chunk) {
            let part = l.slice(lo, (lo + chunk).min(l.ids.len()));
            spill.append(&part.view()).unwrap();
        }
        let layout = spill.finish(&|| ()).unwrap();
        assert_eq!(Layout::load(dir.path()).unwrap().as_ref(), Some(&layout));
        let placement = Placement::open(dir.path(), SECRET, "r-1", &l.assets, 62).unwrap();
        (placement, layout, dir)
    }

    /// The jobs of every batch of `2^batch_log2` leaves.
    fn batch_jobs(placement: &Placement, layout: &Layout, batch_log2: u32) -> Vec<BatchJob> {
        let count = (layout.num_leaves >> batch_log2).max(1);
        (0..count).map(|i| placement.batch_job(Security::Bits100, batch_log2, i).unwrap()).collect()
    }

    /// [`batch_jobs`], encoded: what two placements must agree on byte for byte.
    fn encoded_jobs(placement: &Placement, layout: &Layout, batch_log2: u32) -> Vec<Vec<u8>> {
        batch_jobs(placement, layout, batch_log2).iter().map(BatchJob::to_bytes).collect()
    }

    /// Streams `l` in chunks of `chunk` users through a fresh folder and proves every batch:
    /// the round file, and the placement it was proved from.
    fn streamed(l: &crate::round::tests::Owned, chunk: usize, batch_log2: u32) -> (Vec<u8>, (Placement, Layout, tempfile_dir::Dir)) {
        let (placement, layout, dir) = placed(l, chunk);
        let outputs = batch_jobs(&placement, &layout, batch_log2).into_iter().map(|job| prove_batch(&job));
        let (file, _, _) = assemble(&stub(l), layout.num_leaves, batch_log2, outputs).unwrap();
        (file, (placement, layout, dir))
    }

    #[test]
    fn a_streamed_round_is_byte_for_byte_the_in_memory_round() {
        let l = ledger(27);
        let expected = prove_round(&l.view(), SECRET, "r-1", Security::Bits100, 3, 2).unwrap();
        // chunks of 5 are proved and assembled; chunks of one user and of the whole ledger give
        // the very same batch jobs (so the same proofs: proving is deterministic)
        let (file, proved) = streamed(&l, 5, 3);
        assert_eq!(file, expected.file, "chunks of 5");
        let proved_jobs = encoded_jobs(&proved.0, &proved.1, 3);
        for (chunk, (placement, layout, _dir)) in [(5, proved), (1, placed(&l, 1)), (27, placed(&l, 27))] {
            assert_eq!(encoded_jobs(&placement, &layout, 3), proved_jobs, "chunks of {chunk}");
            assert_eq!((layout.num_users, layout.num_leaves), (27, 32));
            // users come back at the positions and with the salts the in-memory prover used
            let mut seen = 0;
            for b in 0..BUCKETS {
                for row in placement.users_in_bucket(b).unwrap() {
                    let u: usize = row.user_id.strip_prefix("user-").unwrap().parse().unwrap();
                    assert_eq!(row.position, expected.positions[u]);
                    assert_eq!(row.salt, expected.salts[u]);
                    seen += 1;
                }
            }
            assert_eq!(seen, 27);
        }
        assert!(crate::verify(&expected.file, 100).is_ok());
    }

    #[test]
    fn a_streamed_round_of_one_batch_is_a_single_proof_of_the_same_statement() {
        let l = ledger(6);
        let (file, _placed) = streamed(&l, 4, 5);
        let single = crate::prove(&l.view(), SECRET, "r-1", Security::Bits100).unwrap();
        let v = crate::verify(&file, 100).unwrap();
        assert_eq!(v.statement, single.statement);
        assert_eq!(crate::envelope::file_kind(&file).unwrap(), crate::envelope::KIND_SOLVENCY);
    }

    #[test]
    fn an_id_repeated_in_another_chunk_is_refused_naming_both_users() {
        let mut l = ledger(10);
        l.ids[8] = "user-2".into();
        let dir = tempfile_dir::Dir::new();
        let mut spill = Spill::create(dir.path(), SECRET, "r-1", &l.assets, 62).unwrap();
        spill.append(&l.slice(0, 5).view()).unwrap();
        spill.append(&l.slice(5, 10).view()).unwrap();
        match spill.finish(&|| ()) {
            Err(Error::Ledger { user: Some(8), message, .. }) => assert!(message.contains("first seen as user 2"), "{message}"),
            Err(other) => panic!("wrong error {other:?}"),
            Ok(_) => panic!("duplicate accepted"),
        }
        assert_eq!(Layout::load(dir.path()).unwrap(), None, "no layout for a refused ledger");
    }

    #[test]
    fn a_bad_row_in_a_later_chunk_is_named_by_its_place_in_the_ledger() {
        let mut l = ledger(10);
        l.amounts[l.indptr[6] as usize] = 0; // user 6 holds BTC
        let dir = tempfile_dir::Dir::new();
        let mut spill = Spill::create(dir.path(), SECRET, "r-1", &l.assets, 62).unwrap();
        spill.append(&l.slice(0, 5).view()).unwrap();
        match spill.append(&l.slice(5, 10).view()) {
            Err(Error::Ledger { user: Some(6), message, .. }) => assert!(message.starts_with("user 6:"), "{message}"),
            other => panic!("wrong result {:?}", other.err()),
        }
    }

    #[test]
    fn a_damaged_bucket_is_reported_not_panicked() {
        let l = ledger(9);
        let dir = tempfile_dir::Dir::new();
        let mut spill = Spill::create(dir.path(), SECRET, "r-1", &l.assets, 62).unwrap();
        spill.append(&l.view()).unwrap();
        let layout = spill.finish(&|| ()).unwrap();
        let b = layout.counts.iter().position(|&c| c > 0).unwrap();
        let path = bucket_path(dir.path(), b);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let placement = Placement::open(dir.path(), SECRET, "r-1", &l.assets, 62).unwrap();
        assert!(matches!(placement.users_in_bucket(b), Err(Error::Work(_))));
    }

    fn layout_file(num_users: u64, num_leaves: u64, counts: &[(usize, u64)]) -> tempfile_dir::Dir {
        let dir = tempfile_dir::Dir::new();
        create_private_dir(dir.path()).unwrap();
        let mut bytes = Version::V1.layout_magic().to_vec();
        let mut words = vec![0u64; BUCKETS];
        for &(b, c) in counts {
            words[b] = c;
        }
        for w in [num_users, num_leaves].iter().chain(&words) {
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        fs::write(dir.path().join(LAYOUT_FILE), bytes).unwrap();
        dir
    }

    // found by fuzz/ (spill_layout): bucket counts whose sum wraps around to the leaf count
    // panicked in debug builds and passed as a layout in release builds
    #[test]
    fn a_layout_whose_counts_overflow_is_damaged() {
        let dir = layout_file(5, 8, &[(3, 5), (95, u64::MAX - 1), (122, 4)]);
        assert!(matches!(Layout::load(dir.path()), Err(Error::Work(m)) if m.contains("damaged layout")));
        let dir = layout_file(5, 8, &[(3, 5), (122, 3)]);
        assert!(Layout::load(dir.path()).unwrap().is_some(), "the same file with honest counts loads");
        // a user count with no power of two above it in a u64
        let dir = layout_file(u64::MAX, 0, &[]);
        assert!(matches!(Layout::load(dir.path()), Err(Error::Work(_))));
    }

    /// A temporary folder removed on drop (std only).
    pub(crate) mod tempfile_dir {
        use std::path::{Path, PathBuf};
        use std::sync::atomic::{AtomicU32, Ordering};

        pub struct Dir(PathBuf);

        impl Dir {
            pub fn new() -> Self {
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let path = std::env::temp_dir().join(format!("stark-por-spill-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&path);
                Dir(path)
            }

            pub fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
