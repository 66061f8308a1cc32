"""Tests for assistant.chat: the follow-up heuristic, and follow-ups answered over the real corpus."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.chat import FollowUpRewriter, Turn, is_follow_up, standalone_question
from assistant.service import Assistant

PUTIN = "What did Putin propose on 11 May 2025?"
HISTORY = [Turn(PUTIN, "Putin proposed to resume direct talks in Istanbul on 15 May [1].")]


@pytest.mark.parametrize(
    "question",
    [
        "and what did Russia say about that?",
        "What about the Black Sea Grain Initiative?",
        "But did Ukraine accept the ceasefire proposal?",
        "Where would those talks take place?",
        "Did Zelensky accept it?",
        "Why?",
        "When?",
    ],
)
def test_follow_ups_are_recognised(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        "What did the US and Ukraine agree in Jeddah?",
        "When was the first meeting of the 2022 peace talks held?",
        "What did Putin propose on 11 May 2025?",
        "Which countries signed the Minsk Protocol in September 2014?",
    ],
)
def test_standalone_questions_are_not_follow_ups(question: str) -> None:
    assert not is_follow_up(question)


def test_follow_up_is_rewritten_with_the_previous_question() -> None:
    rewritten = standalone_question("and what did Russia say about that?", HISTORY)
    assert rewritten == f"and what did Russia say about that? (follow-up to: {PUTIN})"


def test_follow_up_uses_the_previous_standalone_question() -> None:
    first = standalone_question("Where would those talks take place?", HISTORY)
    history = [*HISTORY, Turn("Where would those talks take place?", "In Istanbul [1].", first)]
    second = standalone_question("  And when?  ", history)
    assert second == f"And when? (follow-up to: {first})"
    assert PUTIN in second


def test_only_the_last_turn_is_used() -> None:
    history = [Turn("What is the Minsk Protocol?", "..."), *HISTORY]
    rewritten = standalone_question("and what did Russia say about that?", history)
    assert PUTIN in rewritten
    assert "Minsk" not in rewritten


def test_standalone_question_is_left_unchanged() -> None:
    question = "What did the US and Ukraine agree in Jeddah?"
    assert standalone_question(question, HISTORY) == question


def test_without_history_the_question_is_left_unchanged() -> None:
    assert standalone_question("and what did Russia say about that?", []) == "and what did Russia say about that?"
    assert standalone_question("Why?", ()) == "Why?"


@pytest.mark.parametrize("question", ["What is the Minsk Protocol?", "What did the Istanbul Communiqué propose?"])
def test_short_question_naming_its_subject_is_not_a_follow_up(question: str) -> None:
    assert not is_follow_up(question)


@pytest.mark.slow
def test_follow_up_over_the_corpus_mentions_istanbul(corpus_assistant: Assistant) -> None:
    first = corpus_assistant.ask(PUTIN)
    assert not first.abstained
    assert first.retrieval_query == PUTIN
    history = [Turn(PUTIN, first.text, first.retrieval_query)]
    follow_up = corpus_assistant.ask("Where would those talks take place?", history=history)
    assert follow_up.question == "Where would those talks take place?"
    assert follow_up.retrieval_query == f"Where would those talks take place? (follow-up to: {PUTIN})"
    assert not follow_up.abstained
    assert "Istanbul" in follow_up.text
    istanbul = [c for c in follow_up.citations if "Istanbul" in c.quote]
    assert istanbul
    assert istanbul[0].article_id == "corpus/22_putin_press_statement_2025-05-11_kremlin.md"


@pytest.mark.slow
def test_the_same_follow_up_without_history_is_not_rewritten(corpus_assistant: Assistant) -> None:
    answer = corpus_assistant.ask("Where would those talks take place?")
    assert answer.retrieval_query == "Where would those talks take place?"


@pytest.mark.slow
def test_new_topic_after_a_turn_is_answered_as_if_asked_alone(corpus_assistant: Assistant) -> None:
    question = "What did the Istanbul Communiqué propose?"
    alone = corpus_assistant.ask(question)
    after_a_turn = corpus_assistant.ask(question, history=HISTORY)
    assert after_a_turn.text == alone.text
    assert "corpus/22_putin_press_statement_2025-05-11_kremlin.md" not in {c.article_id for c in after_a_turn.citations}


class _ScriptedModel:
    """A chat model stand-in that returns a fixed reply (or raises) and records what it was asked."""

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.calls: list[list[Any]] = []

    def invoke(self, messages: list[Any]) -> Any:
        self.calls.append(messages)
        if isinstance(self.reply, Exception):
            raise self.reply
        return type("Reply", (), {"content": self.reply})()


def test_llm_rewrites_a_follow_up_into_a_standalone_question() -> None:
    model = _ScriptedModel("How did Ukraine respond to Putin's 11 May 2025 proposal of direct talks in Istanbul?")
    rewritten = FollowUpRewriter(model).run("And how did Ukraine respond to that?", HISTORY)
    assert rewritten == "How did Ukraine respond to Putin's 11 May 2025 proposal of direct talks in Istanbul?"
    (messages,) = model.calls
    assert "What did Putin propose on 11 May 2025?" in messages[1].content
    assert "Last question: And how did Ukraine respond to that?" in messages[1].content


def test_llm_rewriter_leaves_standalone_questions_alone() -> None:
    model = _ScriptedModel("unused")
    question = "What did the Istanbul Communiqué propose?"
    assert FollowUpRewriter(model).run(question, HISTORY) == question
    assert FollowUpRewriter(model).run("And what about that?", []) == "And what about that?"
    assert model.calls == []


@pytest.mark.parametrize("reply", [ConnectionError("down"), "", "line one\nline two", "x" * 2000])
def test_llm_rewriter_falls_back_to_the_heuristic(reply: str | Exception) -> None:
    question = "And how did Ukraine respond to that?"
    rewritten = FollowUpRewriter(_ScriptedModel(reply)).run(question, HISTORY)
    assert rewritten == standalone_question(question, HISTORY)
    assert "follow-up to: What did Putin propose on 11 May 2025?" in rewritten
