"""Plain-text and Markdown renderings of an answer's sources, shared by the CLI and the web UI."""

from __future__ import annotations

from assistant.models import Answer, Citation


def source_line(c: Citation) -> str:
    """ "[1] Title — Publisher, 2025-05-11" (dates shown as 'undated' when unknown)."""
    parts = [c.publisher or "unknown publisher", c.published or "undated"]
    return f"[{c.number}] {c.title} — {', '.join(parts)}"


def render_sources(answer: Answer) -> str:
    """Terminal view: notices, then each citation with its quoted sentence and where it comes from."""
    lines: list[str] = [f"note: {n}" for n in answer.notices]
    if answer.as_of:
        lines.append(f"As of {answer.as_of} (the newest dated source cited).")
    if answer.citations:
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  {source_line(c)}")
            lines.append(f"      “{c.quote}”")
            lines.append(
                f"      {c.article_id} (chars {c.quote_start}–{c.quote_end})" + (f" · {c.source}" if c.source else "")
            )
    elif answer.abstained and answer.evidence:
        lines.append("Closest passages (they do not answer the question):")
        for ev in answer.evidence[:3]:
            meta = ev.chunk.metadata
            lines.append(
                f"  - {meta.title} — {meta.published or 'undated'} ({ev.chunk.article_id}, score {ev.score:.2f})"
            )
    for check in answer.unsupported:
        lines.append(f"UNSUPPORTED: “{check.text.strip()}” — {check.reason}")
    if answer.groundedness is not None:
        supported = len(answer.checks) - len(answer.unsupported)
        lines.append(
            f"Verified: {supported} of {len(answer.checks)} sentence(s) supported by their citations "
            f"(groundedness {answer.groundedness:.2f})."
        )
    t = answer.timings
    lines.append(
        f"[{answer.backend} · retrieval {t.retrieve_ms:.0f} ms · answer {t.answer_ms:.0f} ms"
        f" · verification {t.verify_ms:.0f} ms]"
    )
    return "\n".join(lines)
