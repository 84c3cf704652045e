"""Draws shared by every synthetic workload: how many assets each user holds, and which.

Both are vectorised numpy draws from a caller's ``Generator``; the order in which they consume
it is part of each workload's definition (W1/W2 ledgers must stay the same for the same seed).
"""

from __future__ import annotations

import math

import numpy as np

MAX_HELD = 22  # nobody holds more than 22 assets


def _clipped_poisson_mean(lam: float, c: int) -> float:
    """E[min(X, c)] for X ~ Poisson(lam) = sum_{j<c} P(X > j)."""
    if lam == 0.0:
        return 0.0
    p = math.exp(-lam)  # P(X = 0)
    cdf = p
    total = 0.0
    for j in range(c):
        total += 1.0 - cdf
        p *= lam / (j + 1)
        cdf += p
    return total


def solve_lambda(extra_mean: float, c: int) -> float:
    """lam such that E[min(Poisson(lam), c)] == extra_mean (bisection)."""
    if extra_mean <= 0.0:
        return 0.0
    lo, hi = 0.0, 1.0
    while _clipped_poisson_mean(hi, c) < extra_mean:
        hi *= 2.0
        if hi > 1e4:
            return hi
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if _clipped_poisson_mean(mid, c) < extra_mean:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def held_counts(rng: np.random.Generator, num_users: int, mean_held: float, cap: int) -> np.ndarray:
    """Assets held per user: ``1 + min(Poisson(lam), cap - 1)``, ``lam`` solved so that the mean
    is ``mean_held`` in expectation; everyone holds ``cap`` (no draw) when ``mean_held >= cap``."""
    if mean_held >= cap:
        return np.full(num_users, cap, dtype=np.int64)
    lam = solve_lambda(mean_held - 1.0, cap - 1)
    return 1 + np.minimum(rng.poisson(lam, size=num_users), cap - 1)


def choose_assets(rng: np.random.Generator, held: np.ndarray, weights: np.ndarray):
    """Which assets each user holds: ``held[u]`` distinct assets drawn with probabilities
    proportional to ``weights``, without replacement.

    Returns ``(indptr, asset_index)``: int64 CSR offsets and uint32 asset indices, strictly
    increasing within each user. Every slot draws from the weights; slots repeating an asset
    their user already holds draw again (= successive sampling without replacement), touching
    only the users that still have repeats.
    """
    k = int(weights.shape[0])
    num_users = int(held.shape[0])
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]

    def draw(size: int) -> np.ndarray:
        a = np.searchsorted(cdf, rng.random(size), side="right")
        return np.minimum(a, k - 1).astype(np.int64)

    ip = np.zeros(num_users + 1, dtype=np.int64)
    np.cumsum(held, out=ip[1:])
    nnz = int(ip[-1])
    owner = np.repeat(np.arange(num_users, dtype=np.int64), held)
    ai = draw(nnz)
    idx = np.arange(nnz, dtype=np.int64)  # entries of users that may repeat
    while idx.size:
        key = owner[idx] * k + ai[idx]
        order = np.argsort(key, kind="stable")
        sk = key[order]
        dup = idx[order[1:][sk[1:] == sk[:-1]]]
        if not dup.size:
            break
        ai[dup] = draw(dup.size)
        users = np.unique(owner[dup])
        lens = held[users]
        starts = ip[users]
        # entry positions of `users`: starts[u] + 0..lens[u]-1
        offs = np.repeat(starts - np.cumsum(lens) + lens, lens)
        idx = offs + np.arange(int(lens.sum()), dtype=np.int64)
    return ip, (np.sort(owner * k + ai) % k).astype(np.uint32)
