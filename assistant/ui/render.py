"""Markdown for the web UI, built so that corpus and LLM text can only ever show as text.

Gradio's Chatbot and Markdown sanitize HTML (kept on), and on top of that every piece of corpus or model text is
escaped here: Markdown syntax in an article (a link, an image that would load from a remote host) shows literally.
"""

from __future__ import annotations

import html
import re

from assistant.models import Answer, Citation
from assistant.text import strip_footnotes

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def escape_text(text: str) -> str:
    """Text -> Markdown that renders as exactly that text (HTML entities for <, >, &; backslashes for syntax)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def escape_answer(text: str) -> str:
    """Escape an answer but keep its [n] citation markers readable as [n]."""
    return re.sub(r"\\\[(\d+)\\\](?!:)", r"[\1]", escape_text(text))


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


def _safe_url(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://[^\s<>()\"']+$", url) else None


def sources_markdown(answer: Answer | None) -> str:
    """The sources panel: one card per citation with its metadata, a link and the highlighted passage."""
    if answer is None:
        return "*Sources of the answer appear here.*"
    out: list[str] = []
    for c in answer.citations:
        meta = f"{escape_text(c.publisher or 'unknown publisher')} · {escape_text(c.published or 'undated')}"
        url = _safe_url(c.source)
        link = f" · [original]({url})" if url else ""
        out.append(f"#### [{c.number}] {escape_text(c.title)}\n{meta}{link}  \n{escape_text(c.article_id)}\n")
        out.append("> " + _highlighted_passage(c).replace("\n", "\n> ") + "\n")
    if not answer.citations:
        out.append("**No source answers this question.**")
        if answer.evidence:
            out.append("Closest passages:")
            for ev in answer.evidence[:3]:
                m = ev.chunk.metadata
                out.append(f"- {escape_text(m.title)} ({escape_text(m.published or 'undated')}), score {ev.score:.2f}")
    return "\n".join(out)


def status_markdown(answer: Answer) -> str:
    """Discreet footer: notices first (they matter), then backend and time."""
    notes = [f"⚠ {escape_text(n)}" for n in answer.notices]
    if answer.as_of:
        notes.insert(0, f"**As of {escape_text(answer.as_of)}** (the newest dated source cited)")
    t = answer.timings
    notes.append(f"<small>{escape_text(answer.backend)} · {t.total_ms:.0f} ms</small>")
    return "  \n".join(notes)
