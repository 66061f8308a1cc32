"""Copy and export: plain text for the clipboard, and one Markdown document with a shared reference list."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from assistant.models import Answer, Citation, SentenceCheck, Timings
from assistant.ui.conversation import Conversation, Exchange
from assistant.ui.export import conversation_markdown, plain_answer, write_export


def _citation(number: int, article: str, quote: str, start: int, source: str | None = None) -> Citation:
    return Citation(
        number=number,
        chunk_id=f"{article}:{start}",
        article_id=article,
        title=f"Title of {article} <b>",
        publisher="Kremlin",
        published="2025-05-11",
        source=source,
        passage=quote,
        passage_start=start,
        passage_end=start + len(quote),
        quote=quote,
        quote_start=start,
        quote_end=start + len(quote),
    )


PUTIN = _citation(1, "corpus/22.md", "Putin proposed talks in Istanbul.", 177, "https://kremlin.ru/x")
JEDDAH = _citation(1, "corpus/19.md", "The US and Ukraine met in Jeddah.", 40)


def _answer(text: str, citations: list[Citation], **kwargs: object) -> Answer:
    return Answer("q", text, citations, [], False, "extractive", Timings(1, 2, 345.6), **kwargs)  # type: ignore[arg-type]


def test_plain_answer_lists_sources_for_the_clipboard() -> None:
    text = plain_answer(_answer("Putin proposed talks [1].", [PUTIN], as_of="2025-05-11"))
    assert text == (
        "Putin proposed talks [1].\n\nAs of 2025-05-11 (the newest dated source cited).\n\nSources:\n"
        "[1] Title of corpus/22.md <b> — Kremlin, 2025-05-11 — https://kremlin.ru/x\n"
        "    “Putin proposed talks in Istanbul.”"
    )


def test_conversation_markdown_renumbers_into_one_reference_list() -> None:
    second_putin = _citation(2, "corpus/22.md", "Putin proposed talks in Istanbul.", 177, "https://kremlin.ru/x")
    bad = "The moon agreed [1]."
    conversation = Conversation(
        [
            Exchange("What did Putin propose?", _answer("Putin proposed talks [1].", [PUTIN])),
            Exchange(
                "And in Jeddah? <script>",
                _answer(
                    f"They met [1] and talked [2]. {bad}",
                    [JEDDAH, second_putin],
                    checks=[SentenceCheck(bad, 29, 29 + len(bad), False, 0.1)],
                ),
                filters="publisher Kremlin",
            ),
            Exchange("Empty?", error="The question is empty"),
        ]
    )
    markdown = conversation_markdown(conversation, exported_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    assert markdown.startswith("# peacetalks conversation\n\n*Exported 2026-01-02 03:04 UTC.")
    assert "## 1. What did Putin propose?\n\nPutin proposed talks [1].\n" in markdown
    # Jeddah becomes [2]; the answer's own [2] (the Putin passage again) becomes the shared [1].
    assert (
        "## 2. And in Jeddah? &lt;script&gt;\n\n*Filters: publisher Kremlin*\n\nThey met [2] and talked [1]."
        in markdown
    )
    assert "> ⚠ Not supported by its sources: “The moon agreed \\[1\\].”" in markdown
    assert "## 3. Empty?\n\n*No answer: The question is empty*" in markdown
    references = markdown.split("## References\n", 1)[1].lstrip()
    assert references.startswith("1. Title of corpus/22.md &lt;b&gt; — Kremlin, 2025-05-11. <https://kremlin.ru/x>")
    assert "2. Title of corpus/19.md &lt;b&gt;" in references
    assert references.count("\n1. ") + references.startswith("1. ") == 1  # one entry per passage
    assert "*extractive · 346 ms*" in markdown


def test_export_escapes_links_and_html_from_model_text() -> None:
    conversation = Conversation(
        [Exchange("q", _answer("See [1](javascript:alert(1)) and ![x](http://evil/x.png) <img src=x> [1]", [PUTIN]))]
    )
    markdown = conversation_markdown(conversation)
    assert not re.search(r"(?<!\\)\]\(", markdown)  # no "](" that a viewer could read as a link or an image
    assert "<img" not in markdown and "&lt;img src=x&gt;" in markdown
    assert "See \\[1\\](javascript:alert(1))" in markdown  # the marker before "(" stays escaped
    assert "&lt;img src=x&gt; [1]\n" in markdown  # a plain trailing marker is readable


def test_write_export_replaces_the_sessions_previous_file() -> None:
    conversation = Conversation([Exchange("q", _answer("Putin proposed talks [1].", [PUTIN]))])
    first = write_export(conversation)
    assert Path(first).name == "peacetalks-conversation.md"
    assert "## References" in Path(first).read_text(encoding="utf-8")
    second = write_export(conversation, previous=first)
    assert Path(second).exists() and not Path(first).exists() and second != first
