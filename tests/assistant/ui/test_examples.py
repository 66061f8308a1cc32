"""Example questions come from what is ingested, and change with it."""

from __future__ import annotations

from assistant.store import ArticleRecord
from assistant.ui.examples import STATUS_QUESTION, example_questions, short_title


def _record(article_id: str, title: str, publisher: str, published: str = "") -> ArticleRecord:
    return ArticleRecord(article_id, "r", "p", "h", "f", title, publisher, published, "", "", 3, "2026-01-01")


def test_short_title_drops_trailing_notes_and_cuts_at_a_word() -> None:
    assert short_title("Minsk Protocol (Wikipedia, IPFS snapshot)") == "Minsk Protocol"
    long = "Press statement by the President of Russia Vladimir Putin following festive events dedicated to the 80th"
    cut = short_title(long)
    assert cut.endswith("…") and len(cut) <= 81 and long.startswith(cut[:-1])


def test_examples_follow_the_store() -> None:
    records = [
        _record("corpus/a.md", "Minsk Protocol (Wikipedia)", "Wikipedia"),
        _record("corpus/b.md", "Jeddah joint statement", "US State Department", "2025-03-11"),
        _record("corpus/c.md", "Another State Department note", "US State Department", "2023-07-17"),
        _record("uploads/d.md", "Lake Ohrid memorandum", "Test desk", "2026-01-15"),
    ]
    assert example_questions(records) == [
        STATUS_QUESTION,
        "What does “Lake Ohrid memorandum” (2026) say?",
        "What does “Jeddah joint statement” (2025) say?",
        "What does “Minsk Protocol” say?",  # one per publisher: the older State Department note is left out
    ]
    undated = [_record("corpus/a.md", "Minsk Protocol", "Wikipedia")]
    assert example_questions(undated) == ["What does “Minsk Protocol” say?"]
    assert example_questions([]) == []
