"""The UI's Markdown: corpus and model text stays text, [n] become chips, unsupported sentences are marked, and a
cited passage is shown inside its article with the quoted sentence highlighted at the ingest offsets."""

from __future__ import annotations

import re
from typing import Any

import pytest

from assistant.models import Answer, ArticleMetadata, Chunk, Citation, Evidence, SentenceCheck, Timings
from assistant.ui.articles import ArticleText, article_from_chunks
from assistant.ui.render import (
    CONTEXT_CHARS,
    EMPTY_SOURCES,
    answer_markdown,
    article_markdown,
    chip,
    escape_answer,
    escape_text,
    source_card,
    sources_markdown,
    status_markdown,
)

PASSAGE = (
    "The negotiations in Turkey produced the Istanbul Communiqué. "
    "It proposed that Ukraine end its plans to join NATO. "
    "See <img src=x onerror=alert(1)> and ![x](http://evil.example/x.png)."
)
PASSAGE_START = 500
QUOTE = "It proposed that Ukraine end its plans to join NATO."


def _citation(number: int = 1, highlights: list[tuple[int, int]] | None = None, source: str | None = None) -> Citation:
    start = PASSAGE_START + PASSAGE.index(QUOTE)
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
        quote=QUOTE,
        quote_start=start,
        quote_end=start + len(QUOTE),
        highlights=highlights if highlights is not None else [(start, start + len(QUOTE))],
    )


def _answer(
    citations: list[Citation], evidence: list[Evidence] | None = None, text: str | None = None, **kwargs: Any
) -> Answer:
    return Answer(
        question="q",
        text=text or "Ukraine would not join NATO [1].",
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
        "see http://evil.example/x and www.evil.example or mail a@evil.example",
        "Title\n===",
        "$x^2$ and $$y$$",
    ],
)
def test_escape_text_makes_markup_inert(text: str) -> None:
    escaped = escape_text(text)
    assert "<" not in escaped and ">" not in escaped.replace("&gt;", "")
    assert "<script" not in escaped.lower()
    assert "![" not in escaped
    assert "](" not in escaped
    # Every Markdown-special character is backslash-escaped, and so are the ones GFM autolinks, setext headings
    # and LaTeX need.
    assert not re.search(r"(?<!\\)[*_`\[\]()!#=$:@]", escaped)


def test_escape_text_exact_output() -> None:
    assert escape_text("<script>alert(1)</script>") == "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"
    assert escape_text("![x](http://evil/x.png)") == "\\!\\[x\\]\\(http\\://evil/x\\.png\\)"
    assert escape_text("a & b") == "a &amp; b"


def test_escape_answer_keeps_citation_markers_readable() -> None:
    assert escape_answer("Ukraine would not join NATO [1][2].") == "Ukraine would not join NATO [1][2]\\."
    escaped = escape_answer("<b>x</b> [1] ![y](http://evil/y.png)")
    assert "[1]" in escaped
    assert "<b>" not in escaped and "![" not in escaped and "](" not in escaped


def test_escape_answer_does_not_allow_link_reference_definitions() -> None:
    escaped = escape_answer("Ukraine would not join NATO [1].\n[1]: http://evil.example/track")
    assert not re.search(r"^\s{0,3}\[1\]:", escaped, re.MULTILINE)


def test_escape_answer_with_a_turn_makes_chips() -> None:
    assert chip(2, 1) == "[\\[1\\]](#cite-2-1)"
    assert escape_answer("Ukraine would not join NATO [1][2].", turn=3) == (
        "Ukraine would not join NATO [\\[1\\]](#cite-3-1)[\\[2\\]](#cite-3-2)\\."
    )
    # A marker the model follows with a URL or a colon stays a chip; the rest stays escaped text.
    sneaky = escape_answer("[1](javascript:alert(1)) and\n[2]: http://evil", turn=0)
    assert "](javascript" not in sneaky and "(#cite-0-1)\\(javascript\\:alert" in sneaky
    assert not re.search(r"^\s{0,3}\[[^\]]*\]:", sneaky, re.MULTILINE)


def test_answer_markdown_marks_unsupported_sentences_by_offset() -> None:
    text = "Ukraine would not join NATO [1]. The <b>moon</b> signed it [2]. Talks resumed [1]."
    bad = "The <b>moon</b> signed it [2]."
    start = text.index(bad)
    checks = [
        SentenceCheck("Ukraine would not join NATO [1].", 0, 32, True, 0.9, [1]),
        SentenceCheck(bad, start, start + len(bad), False, 0.1, [2], reason="the passage does not mention the moon"),
    ]
    answer = _answer([_citation(1), _citation(2)], text=text, checks=checks, groundedness=0.5)
    markdown = answer_markdown(answer, turn=0)
    spans = re.findall(r'<span class="unsupported" title="([^"]*)">(.*?)</span>', markdown)
    assert spans == [
        (
            "Not supported: the passage does not mention the moon",
            "The &lt;b&gt;moon&lt;/b&gt; signed it [\\[2\\]](#cite-0-2)\\.",
        )
    ]
    assert markdown.count('<sup class="unsupported-flag">⚠ unsupported</sup>') == 1
    assert markdown.startswith("Ukraine would not join NATO [\\[1\\]](#cite-0-1)\\. <span")
    assert "1 sentence is not supported by the passages cited" in markdown
    assert "<b>" not in markdown
    # Supported answers carry no marks; the reason is attribute-escaped.
    assert "unsupported" not in answer_markdown(_answer([_citation()]), turn=0)
    hostile = SentenceCheck(bad, start, start + len(bad), False, 0.1, reason='x" onmouseover="alert(1)')
    assert 'title="Not supported: x&quot; onmouseover=&quot;alert(1)"' in answer_markdown(
        _answer([_citation()], text=text, checks=[hostile]), turn=0
    )


def test_answer_markdown_shows_as_of_for_status_questions() -> None:
    markdown = answer_markdown(_answer([_citation()], as_of="2025-05-11"), turn=0)
    assert markdown.endswith("**As of 2025\\-05\\-11** <small>(the newest dated source cited)</small>")
    assert "As of" not in answer_markdown(_answer([_citation()]), turn=0)


def test_sources_markdown_highlights_the_quote() -> None:
    citation = _citation(source="https://wikimili.com/en/Peace_negotiations")
    markdown = sources_markdown(_answer([citation]))
    assert f"<mark>{escape_text(citation.quote)}</mark>" in markdown
    assert markdown.count("<mark>") == 1
    assert "#### [1] Peace negotiations \\(Wikipedia\\)" in markdown
    assert "Wikipedia · undated · [original ↗](https://wikimili.com/en/Peace_negotiations)" in markdown
    # The passage's own markup stays text.
    assert "<img" not in markdown and "![" not in markdown
    assert "&lt;img src\\=x onerror\\=alert\\(1\\)&gt;" in markdown
    # The text around the highlight is all there, in order.
    plain = markdown.split("\n> ", 1)[1]
    assert plain.startswith("The negotiations in Turkey produced the Istanbul Communiqué\\. <mark>")
    # With the answer's turn, the numbers are chips.
    assert "#### [\\[1\\]](#cite-4-1) Peace" in sources_markdown(_answer([citation]), turn=4)


def test_sources_markdown_marks_every_highlight() -> None:
    first = "The negotiations in Turkey produced the Istanbul Communiqué."
    spans = [(PASSAGE_START + PASSAGE.index(s), PASSAGE_START + PASSAGE.index(s) + len(s)) for s in (first, QUOTE)]
    markdown = sources_markdown(_answer([_citation(highlights=spans)]))
    assert re.findall(r"<mark>(.*?)</mark>", markdown) == [escape_text(first), escape_text(QUOTE)]


def test_sources_markdown_drops_unsafe_links() -> None:
    for url in ["javascript:alert(1)", "http://evil.example/a b", "ftp://x.example/file", 'https://x.example/"q']:
        markdown = sources_markdown(_answer([_citation(source=url)]))
        assert "[original" not in markdown
        assert "javascript:" not in markdown


def test_sources_markdown_without_citations_lists_the_closest_passages() -> None:
    chunk = Chunk("c1", "a.md", 0, "text", 0, 4, ArticleMetadata(title="Minsk *Protocol*", published="2014-09-05"))
    markdown = sources_markdown(_answer([], evidence=[Evidence(chunk, 0.3456, 1)]))
    assert "**No source answers this question.**" in markdown
    assert "- Minsk \\*Protocol\\* (2014\\-09\\-05), score 0.35" in markdown
    assert sources_markdown(None) == EMPTY_SOURCES


def test_status_markdown_shows_escaped_notices_time_and_groundedness() -> None:
    status = status_markdown(_answer([], notices=["Removed citation(s) [9]: <b>bad</b>"]))
    first, second = status.split("  \n")
    assert first == "⚠ Removed citation\\(s\\) \\[9\\]\\: &lt;b&gt;bad&lt;/b&gt;"
    assert second == "<small>extractive · 31 ms</small>"
    grounded = status_markdown(_answer([_citation()], groundedness=2 / 3))
    assert grounded.endswith("<small>extractive · 31 ms · 67% of checked sentences supported</small>")


def _article(text: str, start: int = 0) -> ArticleText:
    return ArticleText("corpus/02_wiki.md", text, start)


def test_source_card_shows_the_passage_inside_its_article() -> None:
    before = "Background paragraph one.\nBackground paragraph two.\n"
    after = "\nAfterwards the talks stalled.\n    Indented line that must not become code."
    text = "x" * PASSAGE_START
    article = _article(text[: PASSAGE_START - len(before)] + before + PASSAGE + after)
    card = source_card(_citation(source="https://wikimili.com/en/X"), article, turn=1)
    assert card.startswith(
        "#### [\\[1\\]](#cite-1-1) Peace negotiations \\(Wikipedia\\)\nWikipedia · undated · [original"
    )
    assert "characters 561–613" in card and "[all sources of this answer](#cite-1-all)" in card
    box = card.split('<div class="article-box">', 1)[1]
    # Before the passage, the passage (marked sentence inside), after it: in article order.
    assert box.index("Background paragraph two") < box.index('<div class="passage">') < box.index("<mark>")
    assert box.index("<mark>") < box.index("Afterwards the talks stalled")
    assert re.findall(r"<mark>(.*?)</mark>", box) == [escape_text(QUOTE)]
    assert "\n    Indented" not in box and "Indented line that must not become code\\." in box
    assert "<img" not in box


def test_source_card_cuts_long_articles_to_a_window() -> None:
    long_before = ("Earlier sentence number one. " * 400)[: 12_000 - 1] + " "
    article = _article(long_before + PASSAGE + " " + "Later words here. " * 600, start=PASSAGE_START - len(long_before))
    card = source_card(_citation(), article, turn=0)
    assert "characters earlier in the article (Corpus tab)" in card
    assert "more characters (Corpus tab)" in card
    shown = re.sub(r"\\(.)", r"\1", card)
    assert len(shown) < len(PASSAGE) + 2 * CONTEXT_CHARS + 2_000


def test_source_card_without_the_article_shows_the_cited_passage() -> None:
    card = source_card(_citation(), None, turn=0)
    assert "no longer in the store" in card
    assert f"<mark>{escape_text(QUOTE)}</mark>" in card


def test_article_from_chunks_keeps_offsets_through_overlaps_and_gaps() -> None:
    text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota.\n\nKappa lambda."
    meta = ArticleMetadata(title="t")
    kappa = text.index("Kappa")
    spans = [(0, 37), (18, text.index("\n")), (kappa, len(text))]  # overlap, then a gap of two newlines
    chunks = [Chunk(f"c{i}", "a", i, text[s:e], s, e, meta) for i, (s, e) in enumerate(spans)]
    rebuilt = article_from_chunks("a", list(reversed(chunks)))
    assert rebuilt is not None
    assert rebuilt.text == text and rebuilt.start == 0 and rebuilt.end == len(text)
    assert rebuilt.slice(18, 37) == "Delta epsilon zeta."
    assert article_from_chunks("a", []) is None
    late = article_from_chunks("a", [Chunk("c", "a", 0, text[18:37], 18, 37, meta)])
    assert late is not None and late.start == 18 and late.slice(18, 23) == "Delta"


def test_article_markdown_escapes_everything() -> None:
    reader = article_markdown(
        "T <script>x</script>", "P", "", "javascript:alert(1)", "CC", _article("Body <img src=x onerror=y>")
    )
    assert "<script>" not in reader and "<img" not in reader and "javascript:" not in reader
    assert "undated" in reader and "Licence: CC" in reader
