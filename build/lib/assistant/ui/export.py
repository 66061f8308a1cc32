"""Take a conversation away: the last answer as plain text (copy), the whole conversation as Markdown (export).

The export renumbers citations across the conversation so one reference list at the end serves every answer:
the same passage cited by two answers gets one number. Corpus and model text is escaped just enough that no
Markdown viewer turns it into HTML, a link or an image (``<``, ``&``, brackets, emphasis), and stays readable raw.
"""

from __future__ import annotations

import contextlib
import html
import re
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from assistant.models import Answer, Citation
from assistant.render import source_line
from assistant.ui.conversation import Conversation

_EXPORT_SPECIAL = re.compile(r"([\\`*_\[\]])")
_MARKER = re.compile(r"\[(\d+)\]")
# An escaped marker made readable again, unless "(" or ":" follows (that would make it a link or a link definition).
_RESTORE_MARKER = re.compile(r"\\\[(\d+)\\\](?![(:])")
_EXPORT_DIR: Path | None = None


def _md(text: str) -> str:
    """Text -> Markdown that shows as that text in any viewer, with little noise in the raw file."""
    return _EXPORT_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def plain_answer(answer: Answer) -> str:
    """What "Copy answer" puts on the clipboard: the answer, its "as of" date and its sources, as plain text."""
    lines = [answer.text.strip()]
    if answer.as_of:
        lines.append(f"\nAs of {answer.as_of} (the newest dated source cited).")
    if answer.citations:
        lines.append("\nSources:")
        for c in answer.citations:
            lines.append(source_line(c) + (f" — {c.source}" if c.source else ""))
            lines.append(f"    “{c.quote}”")
    return "\n".join(lines)


def _reference(number: int, c: Citation) -> str:
    where = f"{_md(c.article_id)}, characters {c.quote_start}–{c.quote_end}"
    url = f" <{c.source}>" if c.source and re.match(r"^https?://[^\s<>]+$", c.source) else ""
    return (
        f"{number}. {_md(c.title)} — {_md(c.publisher or 'unknown publisher')}, {_md(c.published or 'undated')}."
        f"{url} {where}.  \n   > {_md(c.quote)}"
    )


def _renumber(text: str, numbers: dict[int, int]) -> str:
    """The answer's own [n] markers as the export's reference numbers."""
    return _MARKER.sub(lambda m: f"[{numbers.get(int(m.group(1)), int(m.group(1)))}]", text)


def conversation_markdown(conversation: Conversation, exported_at: datetime | None = None) -> str:
    """The whole conversation: each question and answer, then one numbered reference list."""
    when = (exported_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    out = [f"# peacetalks conversation\n\n*Exported {when}. Answers cite the reference list at the end.*\n"]
    numbers: dict[tuple[str, int, int], int] = {}
    references: list[tuple[int, Citation]] = []
    for index, ex in enumerate(conversation.exchanges, start=1):
        out.append(f"## {index}. {_md(ex.question)}\n")
        if ex.filters:
            out.append(f"*Filters: {_md(ex.filters)}*\n")
        if ex.answer is None:
            out.append(f"*No answer: {_md(ex.error or 'interrupted')}*\n")
            continue
        local: dict[int, int] = {}
        for c in ex.answer.citations:
            key = (c.article_id, c.quote_start, c.quote_end)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                references.append((numbers[key], c))
            local[c.number] = numbers[key]
        text = _renumber(ex.answer.text, local)
        out.append(_RESTORE_MARKER.sub(r"[\1]", _md(text)) + "\n")
        for check in ex.answer.unsupported:
            out.append(f"> ⚠ Not supported by its sources: “{_md(check.text)}”\n")
        if ex.answer.as_of:
            out.append(f"*As of {_md(ex.answer.as_of)} (the newest dated source cited).*\n")
        out.append(f"*{_md(ex.answer.backend)} · {ex.answer.timings.total_ms:.0f} ms*\n")
    out.append("## References\n")
    out.extend(_reference(n, c) for n, c in references)
    if not references:
        out.append("*No sources were cited.*")
    return "\n".join(out) + "\n"


def write_export(conversation: Conversation, previous: str | None = None) -> str:
    """Write the export to a fresh file in this process's export folder (deleting the session's previous one) and
    return its path for Gradio's download button."""
    global _EXPORT_DIR
    if _EXPORT_DIR is None:
        _EXPORT_DIR = Path(tempfile.mkdtemp(prefix="peacetalks-export-"))
    if previous and Path(previous).parent.parent == _EXPORT_DIR:
        with contextlib.suppress(OSError):
            Path(previous).unlink(missing_ok=True)
            Path(previous).parent.rmdir()
    folder = _EXPORT_DIR / uuid.uuid4().hex
    folder.mkdir()
    path = folder / "peacetalks-conversation.md"
    path.write_text(conversation_markdown(conversation), encoding="utf-8")
    return str(path)
