"""Example questions for an empty chat, made from what is actually ingested rather than a list of known answers.

Each is built from one article's own title (newest dated articles first, one per publisher, so the examples
spread over the corpus), plus one "latest status" question when any article is dated, which shows the "as of"
line. They change as articles are added and removed; nothing here knows which questions answer well.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.store import ArticleRecord

MAX_TITLE_CHARS = 80
STATUS_QUESTION = "What is the latest status of the negotiations?"


def short_title(title: str) -> str:
    """A title without its trailing "(Wikipedia, revision …)"-style notes, cut at a word under MAX_TITLE_CHARS."""
    text = re.sub(r"\s*\([^()]*\)\s*$", "", title.strip()) or title.strip()
    text = re.sub(r"\s+", " ", text)
    if len(text) <= MAX_TITLE_CHARS:
        return text
    return text[:MAX_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:-–") + "…"


def example_questions(records: Sequence[ArticleRecord], limit: int = 4) -> list[str]:
    """Up to ``limit`` questions about the ingested articles (empty when nothing is ingested)."""
    ordered = sorted(records, key=lambda r: (r.published or "", r.article_id), reverse=True)
    questions: list[str] = []
    if any(r.published for r in records):
        questions.append(STATUS_QUESTION)
    publishers: set[str] = set()
    for record in ordered:
        if len(questions) >= limit:
            break
        if record.publisher in publishers or not record.title.strip():
            continue
        publishers.add(record.publisher)
        when = f" ({record.published[:4]})" if record.published else ""
        questions.append(f"What does “{short_title(record.title)}”{when} say?")
    return questions
