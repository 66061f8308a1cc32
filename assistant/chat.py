"""Conversation: turn a follow-up ("and what did Russia say about that?") into a question that stands alone.

Without an LLM this is a tested heuristic: a question that leans on the previous turn (it opens with "and/what
about", or refers back with "that/it/they", or is too short to retrieve on) is sent to retrieval together with the
previous turn's standalone question. The retrieval issue adds LLM-based rewriting behind the same function.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

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
