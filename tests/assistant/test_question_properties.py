"""Hostile questions (hypothesis): any text gets an answer or a ``QuestionError`` with a clear message, never a
crash; over-long questions are refused before any work; follow-up rewriting never fails on any text."""

from __future__ import annotations

import shutil
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.chat import Turn, is_follow_up, standalone_question
from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.models import Answer
from assistant.service import Assistant, QuestionError, build_assistant
from assistant.text import split_sentences
from ingest.pipeline import build_ingest_pipeline
from tests.conftest import CORPUS_DIR, SMALL_CORPUS_FILES

ZERO_WIDTH_AND_BIDI = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2069"


@pytest.fixture(scope="module")
def small_assistant(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Assistant:
    """An extractive assistant over two real articles: enough to retrieve and answer, quick to build."""
    corpus = tmp_path_factory.mktemp("questions") / "corpus"
    corpus.mkdir()
    for name in SMALL_CORPUS_FILES[2:]:
        shutil.copy(CORPUS_DIR / name, corpus / name)
    settings = Settings(data_dir=corpus.parent / "data", corpus_dir=corpus, llm_base_url=None, llm_model=None)
    assistant = build_assistant(settings, embedder=embedder)
    report = build_ingest_pipeline(settings, assistant.store, show_progress=False).run([corpus])
    assert report.ok, report.errors
    return assistant


hostile_chars = st.one_of(
    st.sampled_from(list(ZERO_WIDTH_AND_BIDI + "\u0301\u0308\x00\x07\x1b\x7f\x85\u2028\r\n\t ")),
    st.sampled_from(["Jeddah", "ceasefire", "Putin", "talks", "?", "what about", "that", "[1]", "<script>", "'; --"]),
    st.sampled_from(list("שלום مرحبا Мир 和平 😀")),
    st.characters(),  # lone surrogates too: a JSON body can carry "\ud800" into the UI
)
hostile_question = st.lists(hostile_chars, max_size=60).map("".join)


def _question_error_is_clear(error: QuestionError) -> None:
    message = str(error)
    assert message and "\n" not in message and len(message) < 300


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(question=hostile_question)
@example(question="\ud800")
@example(question="\u200b\u200b")
@example(question="\x00")
@example(question="\u202ewhat about the ceasefire?")
@example(question="e\u0301" * 400)
def test_any_question_gets_an_answer_or_a_question_error(small_assistant: Assistant, question: str) -> None:
    try:
        answer = small_assistant.ask(question)
    except QuestionError as error:
        _question_error_is_clear(error)
        return
    assert isinstance(answer, Answer) and isinstance(answer.text, str)
    assert answer.abstained or answer.citations


@settings(max_examples=8, suppress_health_check=[HealthCheck.too_slow])
@given(question=hostile_question, previous=hostile_question, answer=hostile_question)
def test_follow_ups_with_any_history_are_answered_or_refused(
    small_assistant: Assistant, question: str, previous: str, answer: str
) -> None:
    try:
        result = small_assistant.ask(question, history=[Turn(previous or "What was agreed in Jeddah?", answer)])
    except QuestionError as error:
        _question_error_is_clear(error)
        return
    assert isinstance(result, Answer)


@settings(max_examples=60)
@given(extra=st.integers(1, 100_000), char=st.sampled_from(["a", "和", "😀", "\u200b", "e\u0301"]))
def test_over_long_questions_are_refused_before_any_work(small_assistant: Assistant, extra: int, char: str) -> None:
    limit = small_assistant.settings.max_question_chars
    question = "x" + char * (limit + extra)
    started = time.perf_counter()
    with pytest.raises(QuestionError) as info:
        small_assistant.validate(question)
    assert time.perf_counter() - started < 0.5
    _question_error_is_clear(info.value)
    assert f"the limit is {limit}" in str(info.value)


def test_a_one_megabyte_question_is_refused_fast(small_assistant: Assistant) -> None:
    started = time.perf_counter()
    with pytest.raises(QuestionError, match="characters long"):
        small_assistant.ask("Why " * 250_000)
    assert time.perf_counter() - started < 1


@settings(max_examples=40)
@given(question=st.text(st.sampled_from(list(" \t\n\r\x0b\x0c\u2028\u2029\u3000\u00a0")), max_size=50))
def test_blank_questions_are_refused(small_assistant: Assistant, question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        small_assistant.validate(question)


def test_question_at_the_limit_is_accepted(small_assistant: Assistant) -> None:
    limit = small_assistant.settings.max_question_chars
    assert small_assistant.validate("  " + "a" * limit + "  ") == "a" * limit


turns = st.builds(Turn, hostile_question, hostile_question, st.none() | hostile_question)


@settings(max_examples=150)
@given(question=hostile_question | st.text(), history=st.lists(turns, max_size=3))
def test_follow_up_rewriting_never_fails(question: str, history: list[Turn]) -> None:
    result = standalone_question(question, history)
    assert isinstance(result, str)
    if not history or not is_follow_up(question):
        assert result == question
    else:
        assert result.startswith(question.strip()) and "(follow-up to: " in result


@settings(max_examples=20)
@given(word=st.text(min_size=1, max_size=5), repeat=st.integers(1_000, 20_000))
def test_follow_up_rewriting_is_fast_on_long_text(word: str, repeat: int) -> None:
    started = time.perf_counter()
    standalone_question(word * repeat, [Turn(word * repeat, word)])
    assert time.perf_counter() - started < 2


@settings(max_examples=200)
@given(text=hostile_question | st.text(max_size=500))
def test_sentence_spans_give_back_their_text(text: str) -> None:
    """The splitter under questions, answers and chunks: stripped, ordered spans that are slices of the text."""
    spans = split_sentences(text, offset=7)
    previous_end = 7
    for span in spans:
        assert text[span.start - 7 : span.end - 7] == span.text
        assert span.text and span.text == span.text.strip()
        assert span.start >= previous_end
        previous_end = span.end
