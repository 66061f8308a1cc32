"""Conversation: turn a follow-up ("and what did Russia say about that?") into a question that stands alone.

Without an LLM this is a tested heuristic: a question that leans on the previous turn (it opens with "and/what
about", or refers back with "that/it/they", or is too short to retrieve on) is sent to retrieval together with the
previous turn's standalone question. When an LLM is configured, ``FollowUpRewriter`` asks it to rewrite the
follow-up into one self-contained question instead, and falls back to the heuristic if the model fails or returns
something unusable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answering.lexical import content_terms, key_terms

_OPENS_FOLLOW_UP = re.compile(r"^\s*(and|but|also|so|then|what about|how about|and what|what else|why)\b", re.I)
_REFERS_BACK = re.compile(
    r"\b(that|this|it|its|they|them|their|those|these|there|then|he|she|his|her|the same|the latter|the former)\b",
    re.I,
)
MIN_STANDALONE_TERMS = 3


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation, as the UI or CLI keeps it."""

    question: str
    answer: str
    standalone_question: str | None = None


def is_follow_up(question: str) -> bool:
    """Leans on the previous turn: opens like a continuation, points back, or is too bare to stand alone (a short
    question that names its own subject, "What is the Minsk Protocol?", stands alone)."""
    too_bare = len(content_terms(question)) < MIN_STANDALONE_TERMS and not key_terms(question)
    return bool(_OPENS_FOLLOW_UP.search(question) or _REFERS_BACK.search(question) or too_bare)


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question to retrieve and answer with, given the conversation so far."""
    if not history or not is_follow_up(question):
        return question
    previous = history[-1].standalone_question or history[-1].question
    return f"{question.strip()} (follow-up to: {previous.strip()})"


REWRITE_PROMPT = """Rewrite the last question of a conversation about the Russia-Ukraine peace negotiations so that \
it can be understood without the conversation: replace pronouns and vague references with what they refer to. \
Keep the meaning, do not answer it, do not add facts. Reply with the rewritten question only, on one line."""


class FollowUpRewriter:
    """Standalone questions written by a chat model, with the heuristic as the fallback.

    Only follow-ups go to the model (a question that stands alone is kept as asked), the history it sees is the
    last few turns' questions (answers are long and would drown the question), and a reply that is empty, very
    long or multi-line is discarded.
    """

    def __init__(self, chat_model: Any, max_turns: int = 3) -> None:
        self.chat_model = chat_model
        self.max_turns = max_turns

    def run(self, question: str, history: Sequence[Turn]) -> str:
        if not history or not is_follow_up(question):
            return question
        from langchain_core.messages import HumanMessage, SystemMessage

        turns = "\n".join(f"Q: {t.standalone_question or t.question}" for t in history[-self.max_turns :])
        messages = [SystemMessage(REWRITE_PROMPT), HumanMessage(f"{turns}\nLast question: {question.strip()}")]
        try:
            reply = str(self.chat_model.invoke(messages).content).strip().strip('"')
        except Exception:  # the endpoint is down or slow: the heuristic still gives a usable query
            return standalone_question(question, history)
        if not reply or "\n" in reply or len(reply) > 4 * len(question) + 200:
            return standalone_question(question, history)
        return reply
