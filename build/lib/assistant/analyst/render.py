"""Plain-text tables of the stance board and the timeline for the terminal (``peacetalks stances`` / ``timeline``).

Citations are numbered per source article, [n], and listed at the end with title, publisher and date, as the
answers' sources are. Quotes are shown verbatim (wiki footnote markers dropped).
"""

from __future__ import annotations

import textwrap

from assistant.analyst import dates
from assistant.analyst.corpus import Source
from assistant.analyst.stances import NO_STATEMENT, StanceBoard, Statement
from assistant.analyst.timeline import TimelineEvent
from assistant.analyst.vocabulary import ISSUE_BY_KEY, ISSUES, PARTIES, PARTY_BY_KEY

_SHORT_ISSUE = {
    "territory": "Territory",
    "security_guarantees": "Security",
    "nato": "NATO",
    "ceasefire": "Ceasefire",
    "humanitarian": "Humanit.",
    "sanctions": "Sanctions",
    "monitoring": "Monitor.",
    "black_sea": "Black Sea",
}


class Citations:
    """Numbers source articles [1], [2] ... in order of first citation."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.sources: dict[str, Source] = {}

    def cite(self, sources: list[Source]) -> str:
        out = []
        for s in sources:
            if s.article_id not in self.numbers:
                self.numbers[s.article_id] = len(self.numbers) + 1
                self.sources[s.article_id] = s
            marker = f"[{self.numbers[s.article_id]}]"
            if marker not in out:
                out.append(marker)
        return "".join(out)

    def listing(self) -> str:
        lines = ["Sources"]
        for article_id, n in self.numbers.items():
            s = self.sources[article_id]
            lines.append(f"  [{n}] {s.title} — {s.publisher or 'unknown publisher'}, {s.published or 'undated'}")
            lines.append(f"      {article_id}")
        return "\n".join(lines)


def resolve_party(name: str | None) -> str | None:
    """A party key from a key, a name or a prefix of one ("russia", "United States", "us", "EU")."""
    if not name:
        return None
    wanted = name.strip().lower().replace(" ", "_")
    aliases = {
        "us": "united_states",
        "usa": "united_states",
        "eu": "european_union",
        "un": "united_nations",
        "uk": "united_kingdom",
        "turkiye": "turkey",
        "türkiye": "turkey",
    }
    wanted = aliases.get(wanted, wanted)
    for party in PARTIES:
        if wanted in (party.key, party.name.lower().replace(" ", "_")):
            return party.key
    matches = [p.key for p in PARTIES if p.key.startswith(wanted) or p.name.lower().startswith(name.strip().lower())]
    return matches[0] if len(matches) == 1 else None


def resolve_issue(name: str | None) -> str | None:
    """An issue key from a key or words of its label ("nato", "ceasefire", "black sea", "prisoners")."""
    if not name:
        return None
    wanted = name.strip().lower()
    for issue in ISSUES:
        if wanted in (issue.key, issue.label.lower(), issue.key.replace("_", " ")):
            return issue.key
    matches = [i.key for i in ISSUES if wanted in i.label.lower() or i.key.startswith(wanted.replace(" ", "_"))]
    return matches[0] if len(matches) == 1 else None


def _date_text(s: Statement) -> str:
    if not s.date:
        return "undated"
    shown = dates.label(s.date)
    return shown if s.date_basis == "stated" else f"{shown} (pub.)"


def _wrap(text: str, indent: int, width: int = 118) -> str:
    """Text wrapped to ``width`` columns for a cell that starts at column ``indent`` (first line included)."""
    pad = " " * indent
    return textwrap.fill(" ".join(text.split()), width=width, initial_indent=pad, subsequent_indent=pad)[indent:]


def board_text(board: StanceBoard, party: str | None = None, issue: str | None = None, header: str = "") -> str:
    """The overview grid (statements per cell, * where a position changed), then each cell's statements."""
    parties = [p for p in board.parties if party is None or p == party]
    issues = [i for i in board.issues if issue is None or i == issue]
    cites = Citations()
    lines = [header] if header else []
    if party is None and issue is None:
        lines.append("Overview: statements per cell (* = position changed over time; · = no statement in the corpus)")
        lines.append(f"{'':<16}" + "".join(f"{_SHORT_ISSUE.get(i, i)[:10]:>11}" for i in issues))
        for p in parties:
            row = f"{PARTY_BY_KEY[p].name:<16}"
            for i in issues:
                cell = board.cell(p, i)
                mark = f"{len(cell.statements)}{'*' if cell.changes else ''}" if cell.statements else "·"
                row += f"{mark:>11}"
            lines.append(row)
        lines.append("")
    for p in parties:
        lines.append(PARTY_BY_KEY[p].name)
        for i in issues:
            cell = board.cell(p, i)
            lines.append(f"  {ISSUE_BY_KEY[i].label}")
            if not cell.statements:
                lines.append(f"    {NO_STATEMENT}")
                continue
            for s in cell.statements:
                when = _date_text(s)
                lines.append(f"    {when:<18}" + _wrap(f"“{s.text}” {cites.cite(s.sources)}", indent=22))
            for change in cell.changes:
                lines.append("    ⟳ position changed: " + _wrap(change.summary, indent=24))
            for notice in cell.notices:
                lines.append(f"    note: {notice}")
        lines.append("")
    if cites.numbers:
        lines.append(cites.listing())
    return "\n".join(lines).rstrip() + "\n"


def timeline_text(events: list[TimelineEvent], header: str = "") -> str:
    """One row per event (date, kind, what happened, citations), with conflicting dates and differing details."""
    cites = Citations()
    for e in events:  # number the sources in table order first, so a conflict can point at a later row's source
        cites.cite(e.sources)
    lines = [header] if header else []
    lines.append(f"{'Date':<16}{'Kind':<11}Event")
    for e in events:
        refs = cites.cite(e.sources)
        lines.append(f"{e.date_label:<16}{e.kind:<11}" + _wrap(f"{e.description} {refs}", indent=27))
        if e.year_inferred:
            lines.append(f"{'':<27}(year not written next to the date: taken from the article's context)")
        for c in e.conflicts:
            other = "".join(f"[{cites.numbers[a]}]" if a in cites.numbers else f"({a})" for a in c.articles)
            lines.append(
                f"{'':<27}⚠ conflicting date: "
                + _wrap(f"{c.date} according to {other}: “{c.quote}”", indent=47, width=120)
            )
        for d in e.differences:
            lines.append(f"{'':<27}≠ sources differ: " + _wrap(d, indent=45, width=120))
    lines.append("")
    if cites.numbers:
        lines.append(cites.listing())
    return "\n".join(lines).rstrip() + "\n"
