"""Date awareness: range filters (undated handled explicitly), recency for status questions, "as of"."""

from __future__ import annotations

import pytest

from assistant.answering.composition import is_status_question
from assistant.models import UNDATED, published_day
from assistant.retrieval import RetrievalFilters, Retriever, recency_boost, reserve_recent
from assistant.service import Assistant


def test_published_day() -> None:
    assert published_day("2025-05-11") == 20250511
    assert published_day(None) == UNDATED and published_day("") == UNDATED and published_day("May 2025") == UNDATED


def test_filters_accept_and_where_agree_on_undated() -> None:
    only_2025 = RetrievalFilters(date_from="2025-01-01", date_to="2025-12-31")
    assert only_2025.accepts({"published_day": 20250511})
    assert not only_2025.accepts({"published_day": 20240616})
    assert not only_2025.accepts({"published_day": UNDATED})
    assert RetrievalFilters(date_from="2025-01-01", include_undated=True).accepts({"published_day": UNDATED})
    where = only_2025.to_where()
    assert where == {"$and": [{"published_day": {"$gte": 20250101}}, {"published_day": {"$lte": 20251231}}]}
    with pytest.raises(ValueError, match="ISO"):
        RetrievalFilters(date_from="last May").to_where()


def test_status_questions_and_recency_boost() -> None:
    assert is_status_question("What is the latest on the ceasefire talks?")
    assert is_status_question("Where do the negotiations currently stand?")
    assert not is_status_question("What did the Istanbul Communiqué propose?")
    assert is_status_question("Where does the grain deal stand?")
    assert is_status_question("What were Russia's terms as of 2024?")
    ids = ["old", "undated", "new", "weak"]
    scores = {"old": 1.0, "undated": 0.95, "new": 0.9, "weak": 0.0}
    days = {"old": 20220301, "undated": UNDATED, "new": 20250511, "weak": 20220301}
    assert recency_boost(ids, scores, days, weight=0.5) == ["new", "old", "undated", "weak"]
    assert recency_boost(ids, scores, days, weight=0.02) == ids  # a small weight only breaks near-ties
    assert recency_boost(ids, scores, days, weight=0.0) == ids
    shifted = {cid: s - 5.0 for cid, s in scores.items()}  # z-scores are negative: the same boost, the same order
    assert recency_boost(ids, shifted, days, weight=0.5) == ["new", "old", "undated", "weak"]


def test_reserve_recent_brings_the_newest_relevant_articles_into_the_answer() -> None:
    ids = ["overview1", "overview2", "old", "overview3", "overview4", "mid", "new", "new_b", "newest_far"]
    article = {cid: cid for cid in ids} | {"new_b": "new"}  # two passages of one article
    day = dict.fromkeys(ids, UNDATED) | {"old": 20220301, "mid": 20250311, "new": 20250511, "new_b": 20250511}
    day["newest_far"] = 20251101
    cosine = dict.fromkeys(ids, 0.55) | {"new": 0.46, "new_b": 0.44, "mid": 0.5, "newest_far": 0.2}
    got = reserve_recent(ids, day, article, cosine, top=5, slots=2, margin=0.15)
    # the two newest dated articles within the margin (one passage each) take the last two places, in fused order;
    # the far newer but unrelated passage stays out; nothing is lost
    assert got[:5] == ["overview1", "overview2", "old", "mid", "new"]
    assert sorted(got) == sorted(ids)
    assert got[5:] == ["overview3", "overview4", "new_b", "newest_far"]
    # already among the first five: the order is unchanged
    assert reserve_recent(ids, day, article, cosine, top=7, slots=2, margin=0.15) == ids
    # one slot; no slots; a margin nothing passes
    assert reserve_recent(ids, day, article, cosine, top=5, slots=1, margin=0.15)[:5] == [*ids[:4], "new"]
    assert reserve_recent(ids, day, article, cosine, top=5, slots=0, margin=0.15) == ids
    assert reserve_recent(ids, day, article, cosine, top=5, slots=2, margin=0.01)[:5] == ids[:5]


@pytest.mark.slow
def test_date_range_filter_over_the_corpus(corpus_assistant: Assistant) -> None:
    retriever = Retriever(corpus_assistant.store, corpus_assistant.retriever.embedder)
    in_2025 = retriever.run("ceasefire talks", k=5, filters=RetrievalFilters(date_from="2025-01-01"))
    assert in_2025 and all((e.chunk.metadata.published or "") >= "2025-01-01" for e in in_2025)
    with_undated = retriever.run(
        "ceasefire talks", k=8, filters=RetrievalFilters(date_from="2025-01-01", include_undated=True)
    )
    assert any(e.chunk.metadata.published is None for e in with_undated)


@pytest.mark.slow
def test_status_answer_states_as_of_date(corpus_assistant: Assistant) -> None:
    answer = corpus_assistant.ask("What is the latest proposal to resume direct talks?")
    assert not answer.abstained
    dated = [c.published for c in answer.citations if c.published]
    assert answer.as_of == max(dated)
    plain = corpus_assistant.ask("What did the Istanbul Communiqué propose?")
    assert plain.as_of is None


@pytest.mark.slow
def test_generic_status_question_quotes_the_newest_dated_source(corpus_assistant: Assistant) -> None:
    """The question users ask most reads closest to undated overviews; the answer must still say where things
    stand as of the newest dated source, and say when that source said it."""
    answer = corpus_assistant.ask("What is the current status of the peace talks?")
    assert not answer.abstained
    # the newest dated article of the bundled corpus (the Kremlin statement of 11 May 2025) is about the talks
    newest = max(r.published for r in corpus_assistant.store.list_articles() if r.published)
    assert answer.as_of == newest
    cited = next(c for c in answer.citations if c.published == newest)
    assert cited.published is not None
    assert composition_label(cited.published) in answer.text


def composition_label(published: str) -> str:
    from assistant.answering.composition import source_date_label

    return source_date_label(published).strip()
