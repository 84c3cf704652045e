//! A batch proves a **forest**: the leaves `[start, end)` of a round tree of `N'` leaves, and
//! every node of that tree whose leaves all lie in the range. The verifier derives everything
//! below from the three public numbers, never from the proof.
//!
//! Heap numbering: node `i` has children `2i` and `2i + 1`, the root is 1, leaf `j` is `N' + j`.

use stark_por_solvency::hash::{node_digest, Digest};

use crate::CircuitError;

/// The most leaves a round tree may have.
pub const MAX_LEAVES: u64 = 1 << 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forest {
    pub num_leaves: u64,
    pub start: u64,
    pub end: u64,
}

impl Forest {
    /// `num_leaves` a power of two in `2..=2^40`, `start < end ≤ num_leaves`.
    pub fn new(num_leaves: u64, start: u64, end: u64) -> Result<Self, CircuitError> {
        if num_leaves < 2 || !num_leaves.is_power_of_two() || num_leaves > MAX_LEAVES {
            return Err(CircuitError::LeafCount(num_leaves));
        }
        if start >= end || end > num_leaves {
            return Err(CircuitError::LeafRange { start, end, num_leaves });
        }
        Ok(Forest { num_leaves, start, end })
    }

    /// The whole tree.
    pub fn whole(num_leaves: u64) -> Result<Self, CircuitError> {
        Self::new(num_leaves, 0, num_leaves)
    }

    pub fn num_leaf_slots(&self) -> u64 {
        self.end - self.start
    }

    /// The forest's nodes at heights 1, 2, …: at height `j` exactly the heap indices
    /// `[⌈(N'+start)/2^j⌉, ⌊(N'+end)/2^j⌋)`. A height with no node has none above it either.
    pub fn levels(&self) -> Vec<(u64, u64)> {
        let (lo, hi) = (self.num_leaves + self.start, self.num_leaves + self.end);
        (1..=self.num_leaves.trailing_zeros())
            .map(|j| (lo.div_ceil(1 << j), hi >> j))
            .take_while(|(a, b)| a < b)
            .collect()
    }

    pub fn num_nodes(&self) -> u64 {
        self.levels().iter().map(|(a, b)| b - a).sum()
    }

    /// Heap indices of the forest's roots (its nodes or leaves whose parent is not in it), left
    /// to right: the range cut into maximal aligned power-of-two blocks.
    pub fn roots(&self) -> Vec<u64> {
        let mut roots = Vec::new();
        let mut pos = self.start;
        while pos < self.end {
            let mut size = 1u64;
            while pos.is_multiple_of(2 * size) && pos + 2 * size <= self.end {
                size *= 2;
            }
            roots.push((self.num_leaves + pos) / size);
            pos += size;
        }
        roots
    }

    /// The `(previous row's IDX, IDX)` pair of every row that starts a level: the first node of
    /// each height follows the last row of the height below (the last leaf, `N' + end − 1`, for
    /// the first), and the first filler row (`IDX = 0`) follows the top height's last node.
    pub fn level_starts(&self) -> Vec<(u64, u64)> {
        let mut prev = self.num_leaves + self.end - 1;
        let mut pairs = Vec::new();
        for (a, b) in self.levels() {
            pairs.push((prev, b - 1));
            prev = a;
        }
        pairs.push((prev, 0));
        pairs
    }
}

/// The root of a round tree from its batches' forest roots. `parts` are `(forest, roots)` with
/// the roots in [`Forest::roots`] order; the forests must cut `[0, N')` into consecutive ranges.
pub fn round_root(parts: &[(Forest, &[Digest])]) -> Result<Digest, CircuitError> {
    round_root_with(parts, |_, _| ())
}

/// [`round_root`], calling `on_node(heap index, digest)` for every node it computes: the nodes of
/// the round tree above the forests' roots (the prover keeps them for inclusion paths).
pub fn round_root_with(parts: &[(Forest, &[Digest])], mut on_node: impl FnMut(u64, &Digest)) -> Result<Digest, CircuitError> {
    let bad = |why: String| Err(CircuitError::Shape(why));
    let Some((first, _)) = parts.first() else { return bad("a round needs at least one batch".into()) };
    let num_leaves = first.num_leaves;
    let mut expected_start = 0;
    let mut stack: Vec<(u64, Digest)> = Vec::new();
    for (i, (forest, digests)) in parts.iter().enumerate() {
        if forest.num_leaves != num_leaves || forest.start != expected_start {
            return bad(format!("batch {i} covers leaves {}..{} of {}, expected to start at leaf {expected_start} of {num_leaves}",
                forest.start, forest.end, forest.num_leaves));
        }
        let indices = forest.roots();
        if indices.len() != digests.len() {
            return bad(format!("batch {i} has {} forest roots, its range has {}", digests.len(), indices.len()));
        }
        for (&index, digest) in indices.iter().zip(digests.iter()) {
            stack.push((index, *digest));
            // merge finished siblings: the stack then never holds two siblings
            while let [.., (l, left), (r, right)] = stack[..] {
                if l % 2 != 0 || r != l + 1 {
                    break;
                }
                stack.truncate(stack.len() - 2);
                let parent = node_digest(&left, &right);
                on_node(l / 2, &parent);
                stack.push((l / 2, parent));
            }
        }
        expected_start = forest.end;
    }
    match stack[..] {
        [(1, root)] if expected_start == num_leaves => Ok(root),
        _ => bad(format!("the batches cover leaves 0..{expected_start}, not the whole tree of {num_leaves}")),
    }
}

/// Cuts a round's leaves into consecutive forests that keep their traces full. `blocks[j]` is
/// leaf `j`'s block count, for all `N'` leaves; `capacities` are the permutation rows (leaf
/// blocks plus forest nodes) of the trace sizes a forest may take, largest first, each trace
/// half the one before (`2^16, 2^15, …` rows less their blinding rows).
///
/// Forests fill the largest trace while more is left than it holds. What is left then is
/// planned for the fewest trace rows (then the fewest forests): either in the smallest trace
/// that holds it, or as a forest filling the next smaller trace whole and the rest planned the
/// same way. So a round ends in a few traces of falling sizes rather than one mostly empty (a
/// 10,000-user W3 round: 2^15 + 2^14 rows, 88 % working, not 2^16 at 59 %), proved side by side.
/// Every forest has at least one leaf, so a capacity below a leaf's own rows still makes
/// progress (that forest then needs a longer trace).
pub fn plan(blocks: &[u16], capacities: &[u64]) -> Result<Vec<Forest>, CircuitError> {
    let num_leaves = blocks.len() as u64;
    Forest::whole(num_leaves)?;
    let Some(&largest) = capacities.first() else {
        return Err(CircuitError::Shape("a forest plan needs at least one trace capacity".into()));
    };
    let mut prefix = Vec::with_capacity(blocks.len() + 1);
    prefix.push(0u64);
    for &b in blocks {
        prefix.push(prefix[prefix.len() - 1] + b as u64);
    }
    let planner = Planner { num_leaves, prefix, capacities };
    let mut forests = Vec::new();
    let mut start = 0;
    while planner.rows(start, num_leaves) > largest {
        let end = planner.fill(start, largest);
        forests.push(Forest { num_leaves, start, end });
        start = end;
    }
    forests.extend(planner.tail(start).1);
    Ok(forests)
}

struct Planner<'a> {
    num_leaves: u64,
    /// `prefix[j]`: the blocks of leaves `0..j`.
    prefix: Vec<u64>,
    capacities: &'a [u64],
}

impl Planner<'_> {
    /// Permutation rows of the forest of leaves `s..e`.
    fn rows(&self, s: u64, e: u64) -> u64 {
        let f = Forest { num_leaves: self.num_leaves, start: s, end: e };
        self.prefix[e as usize] - self.prefix[s as usize] + f.num_nodes()
    }

    /// The largest end whose forest from `start` fits `capacity` (rows grow with the end), at
    /// least `start + 1`.
    fn fill(&self, start: u64, capacity: u64) -> u64 {
        let (mut lo, mut hi) = (start + 1, self.num_leaves);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.rows(start, mid) <= capacity { lo = mid } else { hi = mid - 1 }
        }
        lo
    }

    /// The cheapest plan of leaves `start..` (which fit the largest trace): its cost in traces
    /// of the smallest size, and its forests.
    fn tail(&self, start: u64) -> (u64, Vec<Forest>) {
        let last = self.capacities.len() - 1;
        let rest = self.rows(start, self.num_leaves);
        let size = |i: usize| 1u64 << (last - i);
        let j = self.capacities.iter().rposition(|&c| c >= rest).unwrap_or(0);
        let whole = (size(j), vec![Forest { num_leaves: self.num_leaves, start, end: self.num_leaves }]);
        if j == last {
            return whole;
        }
        let end = self.fill(start, self.capacities[j + 1]);
        let (cost, mut rest_plan) = self.tail(end);
        if size(j + 1) + cost >= whole.0 {
            return whole;
        }
        rest_plan.insert(0, Forest { num_leaves: self.num_leaves, start, end });
        (size(j + 1) + cost, rest_plan)
    }
}
