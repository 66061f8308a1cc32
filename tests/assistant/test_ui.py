"""Tests for the web UI: the Markdown rendering helpers, and the Gradio app served on loopback and called over HTTP."""

from __future__ import annotations

import re
import socket
from typing import Any

import pytest

from assistant.models import Answer, ArticleMetadata, Chunk, Citation, Evidence, Timings
from assistant.service import Assistant
from assistant.ui.render import escape_answer, escape_text, sources_markdown, status_markdown

PASSAGE = (
    "The negotiations in Turkey produced the Istanbul Communiqué. "
    "It proposed that Ukraine end its plans to join NATO. "
    "See <img src=x onerror=alert(1)> and ![x](http://evil.example/x.png)."
)
PASSAGE_START = 500


def _citation(number: int = 1, highlights: list[tuple[int, int]] | None = None, source: str | None = None) -> Citation:
    quote = "It proposed that Ukraine end its plans to join NATO."
    start = PASSAGE_START + PASSAGE.index(quote)
    return Citation(
        number=number,
        chunk_id="c1",
        article_id="corpus/02_wiki.md",
        title="Peace negotiations (Wikipedia)",
        publisher="Wikipedia",
        published=None,
        source=source,
        passage=PASSAGE,
        passage_start=PASSAGE_START,
        passage_end=PASSAGE_START + len(PASSAGE),
        quote=quote,
        quote_start=start,
        quote_end=start + len(quote),
        highlights=highlights if highlights is not None else [(start, start + len(quote))],
    )


def _answer(citations: list[Citation], evidence: list[Evidence] | None = None, **kwargs: Any) -> Answer:
    return Answer(
        question="q",
        text="Ukraine would not join NATO [1].",
        citations=citations,
        evidence=evidence or [],
        abstained=not citations,
        backend="extractive",
        timings=Timings(10.0, 20.0, 31.4),
        **kwargs,
    )


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "![x](http://evil/x.png)",
        "[click](javascript:alert(1))",
        "<img src=x onerror=alert(1)>",
        "**bold** _it_ `code` # heading > quote",
    ],
)
def test_escape_text_makes_markup_inert(text: str) -> None:
    escaped = escape_text(text)
    assert "<" not in escaped and ">" not in escaped.replace("&gt;", "")
    assert "<script" not in escaped.lower()
    assert "![" not in escaped
    assert "](" not in escaped
    # Every Markdown-special character is backslash-escaped.
    assert not re.search(r"(?<!\\)[*_`\[\]()!#]", escaped)


def test_escape_text_exact_output() -> None:
    assert escape_text("<script>alert(1)</script>") == "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"
    assert escape_text("![x](http://evil/x.png)") == "\\!\\[x\\]\\(http://evil/x\\.png\\)"
    assert escape_text("a & b") == "a &amp; b"


def test_escape_answer_keeps_citation_markers_readable() -> None:
    assert escape_answer("Ukraine would not join NATO [1][2].") == "Ukraine would not join NATO [1][2]\\."
    escaped = escape_answer("<b>x</b> [1] ![y](http://evil/y.png)")
    assert "[1]" in escaped
    assert "<b>" not in escaped and "![" not in escaped and "](" not in escaped


def test_escape_answer_does_not_allow_link_reference_definitions() -> None:
    escaped = escape_answer("Ukraine would not join NATO [1].\n[1]: http://evil.example/track")
    assert not re.search(r"^\s{0,3}\[1\]:", escaped, re.MULTILINE)


def test_sources_markdown_highlights_the_quote() -> None:
    citation = _citation(source="https://wikimili.com/en/Peace_negotiations")
    markdown = sources_markdown(_answer([citation]))
    assert f"<mark>{escape_text(citation.quote)}</mark>" in markdown
    assert markdown.count("<mark>") == 1
    assert "#### [1] Peace negotiations \\(Wikipedia\\)" in markdown
    assert "Wikipedia · undated · [original](https://wikimili.com/en/Peace_negotiations)" in markdown
    # The passage's own markup stays text.
    assert "<img" not in markdown and "![" not in markdown
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in markdown
    # The text around the highlight is all there, in order.
    plain = markdown.split("\n> ", 1)[1]
    assert plain.startswith("The negotiations in Turkey produced the Istanbul Communiqué\\. <mark>")


def test_sources_markdown_marks_every_highlight() -> None:
    first = "The negotiations in Turkey produced the Istanbul Communiqué."
    second = "It proposed that Ukraine end its plans to join NATO."
    spans = [(PASSAGE_START + PASSAGE.index(s), PASSAGE_START + PASSAGE.index(s) + len(s)) for s in (first, second)]
    markdown = sources_markdown(_answer([_citation(highlights=spans)]))
    assert re.findall(r"<mark>(.*?)</mark>", markdown) == [escape_text(first), escape_text(second)]


def test_sources_markdown_drops_unsafe_links() -> None:
    for url in ["javascript:alert(1)", "http://evil.example/a b", "ftp://x.example/file"]:
        markdown = sources_markdown(_answer([_citation(source=url)]))
        assert "[original]" not in markdown
        assert "javascript" not in markdown


def test_sources_markdown_without_citations_lists_the_closest_passages() -> None:
    chunk = Chunk("c1", "a.md", 0, "text", 0, 4, ArticleMetadata(title="Minsk *Protocol*", published="2014-09-05"))
    markdown = sources_markdown(_answer([], evidence=[Evidence(chunk, 0.3456, 1)]))
    assert "**No source answers this question.**" in markdown
    assert "- Minsk \\*Protocol\\* (2014\\-09\\-05), score 0.35" in markdown
    assert sources_markdown(None) == "*Sources of the answer appear here.*"


def test_status_markdown_shows_escaped_notices_and_time() -> None:
    status = status_markdown(_answer([], notices=["Removed citation(s) [9]: <b>bad</b>"]))
    first, second = status.split("  \n")
    assert first == "⚠ Removed citation\\(s\\) \\[9\\]: &lt;b&gt;bad&lt;/b&gt;"
    assert second == "<small>extractive · 31 ms</small>"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _content_text(content: Any) -> str:
    """Chatbot message content as text (Gradio may send a string or a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_content_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    return str(content)


@pytest.mark.slow
def test_chat_endpoint_over_http(corpus_assistant: Assistant) -> None:
    from gradio_client import Client

    from assistant.ui.app import build_app

    app = build_app(corpus_assistant)
    port = _free_port()
    try:
        app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, share=False, quiet=True)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert "/chat" in client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        result = client.predict("What did the Istanbul Communiqué propose?", [], api_name="/chat")
        messages, sources, status, question_box = result
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert "Istanbul Communiqué propose?" in _content_text(messages[0]["content"])
        reply = _content_text(messages[1]["content"])
        assert "NATO" in reply
        assert "[1]" in reply
        assert "Peace negotiations in the Russian invasion of Ukraine" in sources
        assert "<mark>" in sources and "</mark>" in sources
        assert "NATO" in re.search(r"<mark>(.*?)</mark>", sources, re.DOTALL).group(1)  # type: ignore[union-attr]
        assert "extractive" in status
        assert question_box == ""
    finally:
        app.close()
