"""The metric functions, on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals.metrics.answers import (
    flags_conflict,
    key_fact_recall,
    normalize_answer,
    percentile,
    precision_recall,
    token_f1,
)
from evals.metrics.retrieval import hit_at_k, mrr_at_k, ndcg_at_k, paired_bootstrap_ci, recall_at_k


def test_recall_at_k_counts_distinct_gold_items() -> None:
    covered = [set(), {"a"}, {"a"}, {"b", "c"}]
    gold = {"a", "b", "c", "d"}
    assert recall_at_k(covered, gold, 1) == 0.0
    assert recall_at_k(covered, gold, 3) == 0.25  # "a" twice counts once
    assert recall_at_k(covered, gold, 4) == 0.75
    assert recall_at_k(covered, set(), 4) == 0.0


def test_mrr_hit_and_ndcg() -> None:
    relevant = [False, False, True, False, True]
    assert mrr_at_k(relevant, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(relevant, 2) == 0.0
    assert hit_at_k(relevant, 2) == 0.0 and hit_at_k(relevant, 3) == 1.0
    dcg = 1 / math.log2(4) + 1 / math.log2(6)
    idcg = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(relevant, 2, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at_k([True, True], 2, 10) == pytest.approx(1.0)


def test_token_f1_follows_squad() -> None:
    assert normalize_answer("The Istanbul Communiqué [2]!") == "istanbul communique"
    assert token_f1("in Istanbul, Turkey", "Istanbul") == pytest.approx(0.5)  # P = 1/3, R = 1
    assert token_f1("Minsk", "Istanbul") == 0.0
    assert token_f1("", "") == 1.0


def test_key_fact_recall_matches_whole_words() -> None:
    answer = "The first meeting was held on 28 February 2022 in Belarus [1]."
    assert key_fact_recall(answer, ["28 February", "Belarus"]) == 1.0
    assert key_fact_recall(answer, ["28 February", "Istanbul"]) == 0.5
    assert key_fact_recall(answer, ["8 February"]) == 0.0  # not a substring hit inside "28 February"
    assert key_fact_recall(answer, []) == 1.0


def test_precision_recall_and_percentile() -> None:
    assert precision_recall([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)
    assert precision_recall([False, False], [False, False]) == (1.0, 1.0)
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10.0], 95) == 10.0


def test_conflict_flag_needs_two_sources_and_a_contrast() -> None:
    assert flags_conflict("Article A says Istanbul [1], however another source says Antalya [2].", 2)
    assert not flags_conflict("They met in Istanbul [1] and Antalya [2].", 2)
    assert not flags_conflict("However, they met in Istanbul [1].", 1)


def test_retrieval_scores_count_a_gold_item_once() -> None:
    """Two chunks of the same gold passage at ranks 1 and 2 are one hit: nDCG stays within [0, 1]."""
    from assistant.models import ArticleMetadata, Chunk, Evidence
    from evals.datasets import QAItem
    from evals.runner import _retrieval_scores

    def ev(article: str, rank: int) -> Evidence:
        chunk = Chunk(f"{article}#{rank}", article, rank, "text", 0, 4, ArticleMetadata(title=article))
        return Evidence(chunk, 0.5, rank)

    item = QAItem(id="q", question="?", type="bench", answers=["a"], gold_ids=["s/p1", "s/p2"])
    relevant, scores = _retrieval_scores(item, [ev("s/p1", 1), ev("s/p1", 2), ev("s/x", 3), ev("s/p2", 4)])
    assert relevant == [True, False, False, True]
    assert scores["recall@1"] == 0.5 and scores["recall@5"] == 1.0
    assert 0.0 < scores["ndcg@10"] <= 1.0


def test_the_disagreement_notice_is_not_scored_as_an_uncited_sentence() -> None:
    from assistant.answering.composition import DISAGREEMENT_TEXT
    from assistant.models import Answer, Citation
    from evals.metrics.citations import answer_sentences

    def cite(n: int, text: str) -> Citation:
        return Citation(n, f"c{n}", f"a{n}.md", "t", None, None, None, text, 0, len(text), text, 0, len(text), [])

    istanbul, antalya = "The talks were held in Istanbul.", "The talks were held in Antalya."
    answer = Answer(
        question="Where were the talks held?",
        text=f"{DISAGREEMENT_TEXT} {istanbul} [1] {antalya} [2]",
        citations=[cite(1, istanbul), cite(2, antalya)],
        evidence=[],
        abstained=False,
        backend="extractive",
    )
    assert answer_sentences(answer) == [(istanbul, [istanbul]), (antalya, [antalya])]


def test_paired_bootstrap_tells_a_real_difference_from_noise() -> None:
    rng = np.random.default_rng(1)
    base = rng.random(400)
    better = base + 0.05  # every question a little better: the interval is tight around +0.05
    mean, low, high = paired_bootstrap_ci(better, base)
    assert mean == pytest.approx(0.05) and low == pytest.approx(0.05) and high == pytest.approx(0.05)
    shuffled = rng.permutation(base)  # the same scores on other questions: no real difference
    mean, low, high = paired_bootstrap_ci(shuffled, base)
    assert low < 0 < high and low < mean < high
    one_win = np.zeros(400)
    one_win[0] = 1.0  # a single question moving: not significant
    assert paired_bootstrap_ci(one_win, np.zeros(400))[1] == 0.0
    with pytest.raises(ValueError):
        paired_bootstrap_ci([1.0], [1.0, 0.0])
