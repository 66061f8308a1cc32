"""The answerer interface: question + retrieved evidence -> a draft whose ``[n]`` markers point at evidence ranks.

Every backend (extractive, LLM) produces a ``Draft``; ``assistant.citations`` then turns the markers into checked
``Citation`` objects, whichever backend wrote the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from assistant.models import Evidence
from assistant.text import Span, split_sentences

ABSTAIN_TEXT = "The corpus does not say."


@dataclass
class DraftSentence:
    """One answer sentence (without markers) and the evidence ranks it cites.

    ``quotes`` maps a cited rank to the exact sentence of that passage it rests on (article offsets), when the
    backend knows it: the extractive backend does; for LLM text the citation step finds the best-matching sentence.
    """

    text: str
    cites: list[int]
    quotes: dict[int, Span] = field(default_factory=dict)


@dataclass
class Draft:
    """Answer text with ``[n]`` markers, where n is the 1-based rank of a passage in the evidence list.

    ``sentences`` is filled by backends that know the structure of their answer; otherwise it is parsed from text.
    """

    text: str
    abstained: bool = False
    sentences: list[DraftSentence] | None = None
    notices: list[str] = field(default_factory=list)

    @staticmethod
    def from_sentences(sentences: list[DraftSentence]) -> Draft:
        parts: list[str] = []
        for sentence in sentences:
            markers = "".join(f"[{n}]" for n in sentence.cites)
            # A quoted unit of two sentences ("X. It proposed ...") gets its markers after each sentence, so
            # every sentence of the answer carries its citation.
            pieces = [p.text for p in split_sentences(sentence.text)] or [sentence.text]
            parts.extend(f"{piece} {markers}".rstrip() for piece in pieces)
        return Draft(text=" ".join(parts).strip(), sentences=sentences)


class Answerer(Protocol):
    """What a backend implements. ``stream`` yields text pieces, then returns the complete draft."""

    name: str

    def run(self, question: str, evidence: list[Evidence]) -> Draft: ...

    def stream(self, question: str, evidence: list[Evidence]) -> Iterator[str | Draft]: ...
