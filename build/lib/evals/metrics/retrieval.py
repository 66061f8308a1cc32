"""Ranked-retrieval metrics over one question: which retrieved items are relevant, in rank order.

Inputs are a list of booleans (``relevant[i]`` is True when the item at rank i+1 is relevant) and the number of
relevant items that exist (for recall and the ideal DCG). Averaging over questions is the caller's job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set

import numpy as np


def recall_at_k(covered: Sequence[Set[str]], gold: Set[str], k: int) -> float:
    """Share of the gold items found in the top k (Manning, Raghavan & Schütze 2008, ch. 8).

    ``covered[i]`` is the set of gold items the result at rank i+1 contains (a chunk may hold several gold
    quotes, and several chunks may hold the same one): recall@k = |∪ covered[:k] ∩ gold| / |gold|; 0 if no gold.
    """
    if not gold:
        return 0.0
    found: set[str] = set()
    for items in covered[:k]:
        found |= items & gold
    return len(found) / len(gold)


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    """1 if any relevant item is in the top k, else 0 (the "success@k" of QA retrieval, e.g. DPR, Karpukhin 2020)."""
    return 1.0 if any(relevant[:k]) else 0.0


def mrr_at_k(relevant: Sequence[bool], k: int = 10) -> float:
    """Reciprocal rank of the first relevant item within the top k, else 0 (Voorhees 1999, TREC-8 QA)."""
    for i, r in enumerate(relevant[:k]):
        if r:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at_k(relevant: Sequence[bool], n_relevant: int, k: int = 10) -> float:
    """Normalised discounted cumulative gain with binary gains (Järvelin & Kekäläinen 2002).

    DCG@k = Σ_{i=1..k} rel_i / log2(i + 1); nDCG@k = DCG@k / IDCG@k, where the ideal ranking puts all
    min(n_relevant, k) relevant items first.
    """
    if n_relevant <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(relevant[:k]) if r)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(n_relevant, k)))
    return dcg / ideal


def paired_bootstrap_ci(
    a: Sequence[float], b: Sequence[float], resamples: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of a − b over the same questions, with a percentile bootstrap interval (questions resampled with
    replacement, pairs kept together). On a few hundred questions, MRR differences of 0.005 are one or two
    questions moving a rank: an interval that straddles 0 says the two systems are not told apart by this set."""
    if len(a) != len(b) or len(a) == 0:
        raise ValueError("paired_bootstrap_ci needs two score lists of the same, non-zero length")
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    picks = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    means = diff[picks].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(diff.mean()), float(low), float(high)
