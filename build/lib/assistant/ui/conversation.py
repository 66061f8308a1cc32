"""One browser session's conversation: what was asked, what came back, and the filters it was asked under.

Kept in ``gr.State`` (one copy per session, so users never see each other's history). The chat display, the
follow-up context, the citation panel and the Markdown export are all derived from it, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.chat import Turn
from assistant.models import Answer, Citation


@dataclass
class Exchange:
    """One question and its answer (or the error that stopped it)."""

    question: str
    answer: Answer | None = None
    error: str | None = None
    filters: str = ""  # the retrieval filters it was asked under, described for people ("" when none)


@dataclass
class Conversation:
    exchanges: list[Exchange] = field(default_factory=list)
    export_path: str | None = None  # the session's latest Markdown export (replaced after each answer)

    def turns(self) -> list[Turn]:
        """The answered exchanges as the assistant's follow-up history."""
        return [
            Turn(ex.question, ex.answer.text, ex.answer.retrieval_query)
            for ex in self.exchanges
            if ex.answer is not None
        ]

    def citation(self, turn: int, number: int) -> Citation | None:
        """Citation ``number`` of answer ``turn`` (None when there is no such answer or number)."""
        if not 0 <= turn < len(self.exchanges):
            return None
        answer = self.exchanges[turn].answer
        if answer is None:
            return None
        return next((c for c in answer.citations if c.number == number), None)

    @property
    def last_answer(self) -> tuple[int, Answer] | None:
        for turn in range(len(self.exchanges) - 1, -1, -1):
            answer = self.exchanges[turn].answer
            if answer is not None:
                return turn, answer
        return None
