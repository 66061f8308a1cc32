"""Answer-level metrics: correctness against a gold answer, abstention, and conflict flagging."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CITATION = re.compile(r"\[\d+\]")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (Rajpurkar et al. 2016): lower-case, drop punctuation, articles and extra whitespace.

    Citation markers "[n]" and accents are removed first, so "Türkiye [2]" matches "Turkiye".
    """
    text = _CITATION.sub(" ", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    text = "".join(" " if ch in string.punctuation or ch in "“”‘’–—" else ch for ch in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """Token-level F1 between a prediction and a gold answer, as in the SQuAD evaluation script."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def key_fact_recall(prediction: str, key_facts: Sequence[str]) -> float:
    """Share of the gold key facts that appear in the prediction (normalised substring match; 1.0 if none)."""
    if not key_facts:
        return 1.0
    norm = f" {normalize_answer(prediction)} "
    return sum(1 for fact in key_facts if f" {normalize_answer(fact)} " in norm) / len(key_facts)


def precision_recall(predicted: Sequence[bool], gold: Sequence[bool]) -> tuple[float, float]:
    """Precision and recall of a binary decision (here: abstaining) against gold labels.

    Precision = TP / (TP + FP) (1.0 when nothing was predicted positive), recall = TP / (TP + FN) (1.0 when no gold
    positive exists).
    """
    tp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and g)
    fp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and not g)
    fn = sum(1 for p, g in zip(predicted, gold, strict=True) if g and not p)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


_CONFLICT_CUES = re.compile(
    r"\b(however|but|whereas|while|conflict\w*|disagree\w*|differ\w*|contradict\w*|inconsistent|"
    r"other sources?|another source|according to)\b",
    re.IGNORECASE,
)


def flags_conflict(answer: str, n_sources: int) -> bool:
    """Whether an answer signals disagreement: it cites at least two sources and uses a contrast cue."""
    return n_sources >= 2 and bool(_CONFLICT_CUES.search(answer))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation (NumPy's default method)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
