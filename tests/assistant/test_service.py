"""Tests for assistant.service: question validation, the empty store, the answer's JSON form."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.models import Answer, ArticleMetadata, Chunk, Citation, Evidence, Timings
from assistant.service import Assistant, QuestionError, build_assistant
from assistant.store import NotIngestedError, StoreError

ANSWER_KEYS = {"text", "citations", "evidence", "abstained", "backend", "timings"}


@pytest.mark.slow
@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_empty_question_is_refused(corpus_assistant: Assistant, question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        corpus_assistant.ask(question)


@pytest.mark.slow
def test_empty_question_is_refused_before_streaming_anything(corpus_assistant: Assistant) -> None:
    stream = corpus_assistant.stream("  ")
    with pytest.raises(QuestionError):
        next(stream)


@pytest.mark.slow
def test_too_long_question_is_refused(make_settings: Callable[..., Settings], embedder: Embedder) -> None:
    assistant = build_assistant(make_settings(max_question_chars=50), embedder=embedder)
    with pytest.raises(QuestionError) as info:
        assistant.ask("Why? " * 11)
    message = str(info.value)
    assert "54 characters" in message  # counted after stripping
    assert "limit is 50" in message
    # At the limit the question is accepted; this store is empty, so the next problem is the store.
    with pytest.raises(NotIngestedError):
        assistant.ask("x" * 50)


@pytest.mark.slow
def test_default_question_limit(corpus_assistant: Assistant) -> None:
    limit = corpus_assistant.settings.max_question_chars
    assert limit == 1000
    with pytest.raises(QuestionError, match=f"limit is {limit}"):
        corpus_assistant.ask("a" * (limit + 1))


@pytest.mark.slow
def test_asking_an_empty_store_says_to_ingest(make_settings: Callable[..., Settings], embedder: Embedder) -> None:
    settings = make_settings()
    assistant = build_assistant(settings, embedder=embedder)
    with pytest.raises(NotIngestedError) as info:
        assistant.ask("What did the Istanbul Communiqué propose?")
    assert isinstance(info.value, StoreError)
    assert "peacetalks ingest" in str(info.value)
    assert str(settings.data_dir) in str(info.value)


@pytest.mark.slow
def test_real_answer_to_dict_is_json(corpus_assistant: Assistant) -> None:
    answer = corpus_assistant.ask("  What did the Istanbul Communiqué propose?  ")
    assert answer.question == "What did the Istanbul Communiqué propose?"
    assert answer.retrieval_query == answer.question
    data = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert set(data) >= ANSWER_KEYS
    assert data["text"] == answer.text
    assert data["abstained"] is False
    assert data["backend"] == "extractive"
    assert set(data["timings"]) == {"retrieve_ms", "answer_ms", "verify_ms", "total_ms"}
    assert [c["number"] for c in data["citations"]] == list(range(1, len(answer.citations) + 1))
    assert data["citations"][0]["quote"] == answer.citations[0].quote
    assert [e["rank"] for e in data["evidence"]] == list(range(1, corpus_assistant.settings.top_k + 1))
    assert [e["chunk_id"] for e in data["evidence"]] == [e.chunk.chunk_id for e in answer.evidence]
    assert all(set(e) >= {"score", "article_id", "title", "start", "end", "text"} for e in data["evidence"])


def test_hand_built_answer_to_dict() -> None:
    meta = ArticleMetadata(title="Istanbul talks", publisher="Wikipedia", published=None)
    chunk = Chunk("c1", "corpus/a.md", 0, "Ukraine would be neutral.", 10, 35, meta)
    citation = Citation(
        number=1,
        chunk_id="c1",
        article_id="corpus/a.md",
        title="Istanbul talks",
        publisher="Wikipedia",
        published=None,
        source=None,
        passage=chunk.text,
        passage_start=10,
        passage_end=35,
        quote=chunk.text,
        quote_start=10,
        quote_end=35,
        highlights=[(10, 35)],
    )
    answer = Answer(
        question="q",
        text="Ukraine would be neutral [1].",
        citations=[citation],
        evidence=[Evidence(chunk, 0.123456, 1)],
        abstained=False,
        backend="extractive",
        timings=Timings(1.0, 2.0, 3.0),
        notices=["a notice"],
    )
    data = json.loads(json.dumps(answer.to_dict()))
    assert ANSWER_KEYS | {"question", "notices", "retrieval_query", "as_of", "checks", "groundedness"} == set(data)
    assert data["evidence"] == [
        {
            "rank": 1,
            "score": 0.1235,
            "chunk_id": "c1",
            "article_id": "corpus/a.md",
            "title": "Istanbul talks",
            "published": None,
            "start": 10,
            "end": 35,
            "text": "Ukraine would be neutral.",
        }
    ]
    assert data["citations"][0]["highlights"] == [[10, 35]]
    assert data["timings"] == {"retrieve_ms": 1.0, "answer_ms": 2.0, "total_ms": 3.0, "verify_ms": 0.0}
    assert data["notices"] == ["a notice"]
