"""Markdown for the web UI, built so that corpus and LLM text can only ever show as text.

Gradio's Chatbot and Markdown sanitize HTML (kept on), and on top of that every piece of corpus or model text is
escaped here: Markdown syntax in an article (a link, an image that would load from a remote host) shows literally.
The only markup in the output is ours: citation chips (links to ``#cite-T-N``, which the page's script turns into
"open source N of answer T"), ``<mark>`` highlights, and a few ``<div>``/``<span>`` wrappers with fixed classes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from assistant.models import Answer, Citation, SentenceCheck
from assistant.text import strip_footnotes
from assistant.ui.articles import ArticleText

# Markdown syntax, plus "=" (setext headings), "$" (LaTeX) and ":" "@" (GFM autolinks: "http://…", "a@b.org").
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>=$:@])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\](?!:)")
# Characters of article text shown on each side of a cited passage: the rest of the article is "a scroll away".
CONTEXT_CHARS = 4000
EMPTY_SOURCES = "*Sources of the answer appear here.*"


def escape_text(text: str) -> str:
    """Text -> Markdown that renders as exactly that text (HTML entities for <, >, &; backslashes for syntax)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def chip(turn: int, number: int) -> str:
    """A citation marker as a link the page script intercepts: answer ``turn``'s source ``number``."""
    return f"[\\[{number}\\]](#cite-{turn}-{number})"


def _markers(escaped: str, turn: int | None) -> str:
    """Turn escaped ``\\[n\\]`` markers back into readable [n], or into chips when the answer's turn is known."""
    if turn is None:
        return _ESCAPED_MARKER.sub(r"[\1]", escaped)
    return _ESCAPED_MARKER.sub(lambda m: chip(turn, int(m.group(1))), escaped)


def escape_answer(text: str, turn: int | None = None) -> str:
    """Escape an answer but keep its [n] citation markers: plain [n], or clickable chips for answer ``turn``."""
    return _markers(escape_text(text), turn)


def _unsupported(text: str, check: SentenceCheck, turn: int | None) -> str:
    """A sentence verification could not support: struck through in colour, with a flag saying why (CSS class
    ``unsupported``), one span per line so the inline HTML never straddles a paragraph break."""
    reason = html.escape(check.reason or "its cited passages do not support it", quote=True)
    lines = [
        f'<span class="unsupported" title="Not supported: {reason}">{escape_answer(line, turn)}</span>'
        if line.strip()
        else line
        for line in text.split("\n")
    ]
    return "\n".join(lines) + '<sup class="unsupported-flag">⚠ unsupported</sup>'


def answer_markdown(answer: Answer, turn: int | None = None) -> str:
    """The answer as shown in the chat: chips for [n], unsupported sentences marked, "as of" for status questions."""
    pieces: list[str] = []
    cursor = 0
    for check in sorted(answer.unsupported, key=lambda c: c.start):
        start, end = max(check.start, cursor), min(check.end, len(answer.text))
        if start >= end:
            continue
        pieces.append(escape_answer(answer.text[cursor:start], turn))
        pieces.append(_unsupported(answer.text[start:end], check, turn))
        cursor = end
    pieces.append(escape_answer(answer.text[cursor:], turn))
    out = "".join(pieces)
    if answer.unsupported:
        n = len(answer.unsupported)
        what = f"{n} sentences are" if n > 1 else "1 sentence is"
        out += f"\n\n<small>⚠ {what} not supported by the passages cited: check before relying on them.</small>"
    if answer.as_of:
        out += f"\n\n**As of {escape_text(answer.as_of)}** <small>(the newest dated source cited)</small>"
    return out


def _shown(text: str) -> str:
    """Passage text for display: wiki footnote markers ("[5]") dropped so they don't read as our citations."""
    return escape_text(strip_footnotes(text))


def _highlighted_passage(c: Citation) -> str:
    """The passage with each quoted span marked, offsets relative to the article."""
    pieces, cursor = [], 0
    for start, end in c.highlights or [(c.quote_start, c.quote_end)]:
        s, e = max(start - c.passage_start, 0), min(end - c.passage_start, len(c.passage))
        if s < cursor or s >= e:
            continue
        pieces.append(_shown(c.passage[cursor:s]))
        pieces.append(f"<mark>{_shown(c.passage[s:e])}</mark>")
        cursor = e
    pieces.append(_shown(c.passage[cursor:]))
    return "".join(pieces)


def safe_url(url: str | None) -> str | None:
    """A source URL we are willing to link to (http/https, no spaces or quotes); anything else is shown as text."""
    return url if url and re.match(r"^https?://[^\s<>()\"'\\]+$", url) else None


def _meta_line(publisher: str | None, published: str | None, url: str | None) -> str:
    link = f" · [original ↗]({safe_url(url)})" if safe_url(url) else ""
    return f"{escape_text(publisher or 'unknown publisher')} · {escape_text(published or 'undated')}{link}"


def sources_markdown(answer: Answer | None, turn: int | None = None) -> str:
    """The sources panel after an answer: one card per citation with its metadata, a link and the highlighted
    passage. With ``turn``, each card's number is a chip that opens the passage inside its article."""
    if answer is None:
        return EMPTY_SOURCES
    out: list[str] = []
    for c in answer.citations:
        number = chip(turn, c.number) if turn is not None else f"[{c.number}]"
        out.append(
            f"#### {number} {escape_text(c.title)}\n{_meta_line(c.publisher, c.published, c.source)}  \n"
            f"<small>{escape_text(c.article_id)}</small>\n"
        )
        out.append("> " + _highlighted_passage(c).replace("\n", "\n> ") + "\n")
    if answer.citations and turn is not None:
        out.append("<small>Click a number to read the passage in its article.</small>")
    if not answer.citations:
        out.append("**No source answers this question.**")
        if answer.evidence:
            out.append("Closest passages:")
            for ev in answer.evidence[:3]:
                m = ev.chunk.metadata
                out.append(f"- {escape_text(m.title)} ({escape_text(m.published or 'undated')}), score {ev.score:.2f}")
    return "\n".join(out)


def _lines(text: str, marked: bool) -> str:
    """Raw article text -> Markdown paragraphs (one per line), each line wrapped in ``<mark>`` when ``marked``."""
    return "\n\n".join(_mark(p) if marked and p.strip() else _shown(p) for p in text.split("\n"))


def _mark(line: str) -> str:
    """One line highlighted, its surrounding spaces left outside the highlight."""
    core = line.strip()
    start = line.index(core)
    return f"{_shown(line[:start])}<mark>{_shown(core)}</mark>{_shown(line[start + len(core) :])}"


def _marked(text: str, base: int, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` (which starts at article offset ``base``) with the article-offset ``spans`` marked."""
    out, cursor = [], 0
    for start, end in sorted(spans):
        s, e = max(start - base, 0), min(end - base, len(text))
        if s < cursor or s >= e:
            continue
        out.append(_lines(text[cursor:s], marked=False))
        out.append(_lines(text[s:e], marked=True))
        cursor = e
    out.append(_lines(text[cursor:], marked=False))
    # A line that starts with spaces would become a Markdown code block.
    return re.sub(r"\n[ \t]+", "\n", "".join(out)).strip()


def _window(article: ArticleText, start: int, end: int) -> tuple[int, int]:
    """Article offsets of the text to show around [start, end): CONTEXT_CHARS each side, cut at whitespace."""
    lo, hi = max(article.start, start - CONTEXT_CHARS), min(article.end, end + CONTEXT_CHARS)
    if lo > article.start:
        space = article.text.find(" ", lo - article.start)
        lo = article.start + space + 1 if 0 <= space < start - article.start else lo
    if hi < article.end:
        space = article.text.rfind(" ", 0, hi - article.start)
        hi = article.start + space if space > end - article.start else hi
    return lo, hi


def source_card(citation: Citation, article: ArticleText | None, turn: int) -> str:
    """One citation opened beside the chat: title, publisher, date, link to the original, and the cited passage
    (quoted sentence marked) inside its article, whose surrounding text scrolls in the box."""
    c = citation
    head = (
        f"#### {chip(turn, c.number)} {escape_text(c.title)}\n{_meta_line(c.publisher, c.published, c.source)}  \n"
        f"<small>{escape_text(c.article_id)} · characters {c.quote_start}–{c.quote_end} · "
        f"[all sources of this answer](#cite-{turn}-all)</small>\n"
    )
    spans = c.highlights or [(c.quote_start, c.quote_end)]
    if article is None or not (article.start <= c.passage_start and c.passage_end <= article.end):
        note = "<small>The article is no longer in the store; this is the passage as it was cited.</small>"
        return f"{head}\n{note}\n\n" + _box(_marked(c.passage, c.passage_start, spans))
    lo, hi = _window(article, c.passage_start, c.passage_end)
    before = _marked(article.slice(lo, c.passage_start), lo, [])
    passage = _marked(article.slice(c.passage_start, c.passage_end), c.passage_start, spans)
    after = _marked(article.slice(c.passage_end, hi), c.passage_end, [])
    body = []
    if lo > article.start:
        body.append(f"<small>… {lo - article.start:,} characters earlier in the article (Corpus tab)</small>")
    body += [before, '<div class="passage">', passage, "</div>", after]
    if hi < article.end:
        body.append(f"<small>… {article.end - hi:,} more characters (Corpus tab)</small>")
    return head + "\n" + _box("\n\n".join(b for b in body if b))


def _box(markdown: str) -> str:
    """A scrolling box; blank lines around the content keep it Markdown (not a raw HTML block)."""
    return f'<div class="article-box">\n\n{markdown}\n\n</div>'


def article_markdown(
    title: str, publisher: str, published: str, source: str, license_: str, article: ArticleText | None
) -> str:
    """The Corpus tab's reader: an ingested article's provenance and its whole text."""
    head = (
        f"#### {escape_text(title)}\n{_meta_line(publisher or None, published or None, source or None)}  \n"
        f"<small>Licence: {escape_text(license_ or 'unknown')}</small>\n"
    )
    if article is None:
        return head + "\n*This article has no stored text.*"
    return head + "\n" + _box(_marked(article.text, article.start, []))


def status_markdown(answer: Answer) -> str:
    """Discreet footer under the chat: notices first (they matter), then backend, time and how much of the answer
    verification supports. ("As of" is part of the answer itself.)"""
    notes = [f"⚠ {escape_text(n)}" for n in answer.notices]
    t = answer.timings
    grounded = ""
    if answer.groundedness is not None:
        grounded = f" · {answer.groundedness:.0%} of checked sentences supported"
    notes.append(f"<small>{escape_text(answer.backend)} · {t.total_ms:.0f} ms{grounded}</small>")
    return "  \n".join(notes)
