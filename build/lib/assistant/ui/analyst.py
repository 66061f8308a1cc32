"""The analyst tabs of the web UI: "Stances" (the stance board) and "Timeline" (a chart and a table of events).

Both read the views stored at ingest time (``assistant.analyst.state``), so they open instantly; "Reload" re-reads
them after an ingest. Corpus text only ever shows as text: the Markdown panels escape it (``escape_text``) and the
tables are plain-string Dataframes (Gradio renders their cells as text, not Markdown or HTML).

``add_analyst_tabs(settings_or_assistant)`` creates both tabs inside an open ``gr.Blocks``/``gr.Tabs`` context;
``ANALYST_TABS`` gives the same as ``(title, builder)`` pairs for an app that opens each tab itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import gradio as gr
from matplotlib import dates as mdates
from matplotlib.figure import Figure

from assistant.analyst import dates
from assistant.analyst.render import Citations
from assistant.analyst.stances import NO_STATEMENT, StanceBoard
from assistant.analyst.state import STATE_FILE, ViewsState, is_stale, load_views, views_dir
from assistant.analyst.timeline import TimelineEvent
from assistant.analyst.vocabulary import ISSUE_BY_KEY, PARTY_BY_KEY
from assistant.config import Settings
from assistant.service import Assistant
from assistant.ui.render import escape_text

KIND_COLOURS = {
    "talks": "#1f77b4",
    "agreement": "#2ca02c",
    "proposal": "#9467bd",
    "resolution": "#17becf",
    "exchange": "#bcbd22",
    "halt": "#d62728",
    "military": "#7f7f7f",
}
NO_VIEWS = "No analyst views are stored yet: run `peacetalks ingest` (it builds them), then press Reload."


@dataclass
class ViewsSource:
    """Where the tabs get their data: the settings (stored views), and the assistant when there is one (to build
    views that are missing)."""

    settings: Settings
    assistant: Assistant | None = None
    _cached: tuple[tuple[int, int], ViewsState] | None = None

    def _read(self) -> ViewsState | None:
        """``load_views``, parsed again only when the file changed (every click of a tab reads the views)."""
        path = views_dir(self.settings) / STATE_FILE
        try:
            stat = path.stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        if self._cached is None or self._cached[0] != version:
            state = load_views(self.settings)
            self._cached = (version, state) if state is not None else None
            return state
        return self._cached[1]

    def load(self) -> tuple[ViewsState | None, str]:
        """The stored views and a status line (building them first when missing and an assistant is at hand)."""
        state = self._read()
        if state is None and self.assistant is not None:
            from assistant.analyst.state import make_llm, refresh_views

            store = self.assistant.store
            with store.writer_lock():
                state = refresh_views(self.settings, store, make_llm(self.settings))
        if state is None:
            return None, NO_VIEWS
        note = f"Built {state.built_at} from {len(state.articles)} articles ({state.backend} backend)."
        if is_stale(self.settings, state):
            note += " ⚠ The store changed since: re-run `peacetalks ingest` or `peacetalks stances` to refresh."
        return state, note


def _source(settings_or_assistant: Settings | Assistant) -> ViewsSource:
    if isinstance(settings_or_assistant, Assistant):
        return ViewsSource(settings_or_assistant.settings, settings_or_assistant)
    return ViewsSource(settings_or_assistant)


# ---- stance board ------------------------------------------------------------------------------------------------


def overview_rows(board: StanceBoard) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the overview grid: per cell the number of statements, the newest date, ⟳ on a change."""
    headers = ["Party"] + [ISSUE_BY_KEY[i].label for i in board.issues]
    rows = []
    for party in board.parties:
        row = [PARTY_BY_KEY[party].name]
        for issue in board.issues:
            cell = board.cell(party, issue)
            if not cell.statements:
                row.append("—")
                continue
            newest = next((s.date for s in cell.statements if s.date), None)
            text = f"{len(cell.statements)} statement{'s' if len(cell.statements) > 1 else ''}"
            text += f" · {dates.label(newest)}" if newest else " · undated"
            row.append(text + (" · ⟳ changed" if cell.changes else ""))
        rows.append(row)
    return headers, rows


def cell_markdown(board: StanceBoard | None, party_name: str | None, issue_label: str | None) -> str:
    """One cell in full: each statement quoted (escaped) with its date and [n] sources, then the change if any."""
    if board is None:
        return escape_text(NO_VIEWS)
    party = next((k for k in board.parties if PARTY_BY_KEY[k].name == party_name), None)
    issue = next((k for k in board.issues if ISSUE_BY_KEY[k].label == issue_label), None)
    if party is None or issue is None:
        return "*Pick a party and an issue (or click a cell of the table).*"
    cell = board.cell(party, issue)
    out = [f"#### {escape_text(PARTY_BY_KEY[party].name)} — {escape_text(ISSUE_BY_KEY[issue].label)}"]
    if not cell.statements:
        out.append(f"*{escape_text(NO_STATEMENT)}*")
        return "\n\n".join(out)
    cites = Citations()
    for s in cell.statements:
        when = dates.label(s.date) if s.date else "undated"
        basis = "" if s.date_basis != "published" else " (publication date)"
        markers = cites.cite(s.sources).replace("[", "\\[").replace("]", "\\]")
        out.append(f"- **{escape_text(when)}**{escape_text(basis)} — “{escape_text(s.text)}” {markers}")
    for change in cell.changes:
        out.append(f"⟳ **Position changed:** {escape_text(change.summary)}")
    for notice in cell.notices:
        out.append(f"⚠ {escape_text(notice)}")
    out.append("**Sources**")
    for article_id, n in cites.numbers.items():
        src = cites.sources[article_id]
        meta = f"{src.publisher or 'unknown publisher'}, {src.published or 'undated'}"
        out.append(f"\\[{n}\\] {escape_text(src.title)} — {escape_text(meta)}  \n{escape_text(article_id)}")
    return "\n\n".join(out)


def whats_new_markdown(state: ViewsState | None) -> str:
    if state is None:
        return ""
    return "\n".join("    " + line for line in state.whats_new.summary().splitlines())  # a code block: literal text


def build_stance_tab(settings_or_assistant: Settings | Assistant) -> None:
    """The "Stances" tab's content, inside the current Tab/Blocks context."""
    source = _source(settings_or_assistant)
    state, note = source.load()
    board = state.board if state else None
    headers, rows = overview_rows(board) if board else (["Party"], [])
    party_names = [PARTY_BY_KEY[p].name for p in board.parties] if board else []
    issue_labels = [ISSUE_BY_KEY[i].label for i in board.issues] if board else []

    status = gr.Markdown(escape_text(note), elem_id="stances-status")
    with gr.Accordion("What's new since the last ingest", open=False):
        news = gr.Markdown(whats_new_markdown(state), elem_id="stances-whats-new")
    grid = gr.Dataframe(
        value=rows,
        headers=headers,
        datatype="str",
        interactive=False,
        wrap=True,
        label="Stance board: statements per party and issue (click a cell)",
        elem_id="stances-grid",
    )
    with gr.Row():
        party = gr.Dropdown(party_names, value=party_names[0] if party_names else None, label="Party")
        issue = gr.Dropdown(issue_labels, value=issue_labels[0] if issue_labels else None, label="Issue")
        reload = gr.Button("Reload", size="sm", scale=0, min_width=90)
    detail = gr.Markdown(
        cell_markdown(board, party.value, issue.value) if board else escape_text(NO_VIEWS), elem_id="stances-cell"
    )

    def show(p: str | None, i: str | None) -> str:
        current, _ = source.load()
        return cell_markdown(current.board if current else None, p, i)

    def pick(evt: gr.SelectData) -> tuple[Any, Any]:
        current, _ = source.load()
        if current is None or not isinstance(evt.index, list | tuple) or len(evt.index) != 2:
            return gr.skip(), gr.skip()
        row, col = int(evt.index[0]), int(evt.index[1])
        names = [PARTY_BY_KEY[p].name for p in current.board.parties]
        labels = [ISSUE_BY_KEY[i].label for i in current.board.issues]
        chosen_issue = labels[col - 1] if 1 <= col <= len(labels) else gr.skip()
        return (names[row] if 0 <= row < len(names) else gr.skip()), chosen_issue

    def refresh(p: str | None, i: str | None) -> tuple[Any, ...]:
        current, line = source.load()
        b = current.board if current else None
        h, r = overview_rows(b) if b else (["Party"], [])
        return (
            escape_text(line),
            whats_new_markdown(current),
            gr.update(value=r, headers=h),
            cell_markdown(b, p, i) if b else escape_text(NO_VIEWS),
        )

    party.change(show, [party, issue], detail, api_visibility="private")
    issue.change(show, [party, issue], detail, api_visibility="private")
    grid.select(pick, None, [party, issue], api_visibility="private")
    reload.click(refresh, [party, issue], [status, news, grid, detail], api_visibility="private")


# ---- timeline ----------------------------------------------------------------------------------------------------


def _day(event: TimelineEvent) -> float:
    """The middle of the event's date interval, as a matplotlib date number."""
    span = dates.interval(event.iso, event.iso_end, event.qualifier)
    assert span is not None
    return float(mdates.date2num(date.fromordinal((span[0] + span[1]) // 2)))


def timeline_figure(events: list[TimelineEvent]) -> Figure:
    """Events on a time axis, one lane per kind; marker size = number of sources; red rings and dashed links mark
    conflicting dates. A static matplotlib figure (no pyplot state: safe with several sessions)."""
    fig = Figure(figsize=(11, 4.8), dpi=100)
    ax = fig.add_subplot(111)
    kinds = [k for k in KIND_COLOURS if any(e.kind == k for e in events)]
    if not events:
        ax.text(0.5, 0.5, "No dated events in this range", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    lane = {k: i for i, k in enumerate(kinds)}
    by_id = {e.event_id: e for e in events}
    for e in events:
        x, y = _day(e), lane[e.kind]
        ax.scatter([x], [y], s=40 + 50 * (len(e.articles) - 1), color=KIND_COLOURS[e.kind], zorder=3, alpha=0.85)
        if e.conflicts:
            ax.scatter([x], [y], s=220, facecolors="none", edgecolors="#d62728", linewidths=1.5, zorder=4)
            for c in e.conflicts:
                other = by_id.get(c.event_id)
                if other is not None:
                    ax.plot([x, _day(other)], [y, lane[other.kind]], ls="--", lw=0.8, color="#d62728", zorder=2)
    # Each marker carries its row number in the table below (labels would collide in a busy month).
    for n, e in enumerate(events, start=1):
        ax.annotate(
            str(n),
            (_day(e), lane[e.kind]),
            xytext=(0, 9 + 8 * (n % 3)),
            textcoords="offset points",
            ha="center",
            fontsize=7,
            color="#333333",
        )
    ax.xaxis_date()
    ax.set_yticks(range(len(kinds)), kinds)
    ax.set_ylim(-0.7, len(kinds) - 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        "Events in the corpus: numbers are the table's rows (size: number of sources; red ring: conflicting dates)",
        fontsize=9,
    )
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def timeline_rows(events: list[TimelineEvent]) -> tuple[list[list[str]], str]:
    """Table rows (#, date, kind, event, sources, flags) and the Markdown list of the sources they number."""
    cites = Citations()
    rows: list[list[str]] = []
    for e in events:
        refs = cites.cite(e.sources)
        flags = []
        if e.conflicts:
            flags.append("⚠ other dates: " + ", ".join(c.date for c in e.conflicts))
        flags.extend(f"≠ {d}" for d in e.differences)
        if e.year_inferred:
            flags.append("year from context")
        rows.append([str(len(rows) + 1), e.date_label, e.kind, e.description, refs, "; ".join(flags)])
    listing = [
        f"\\[{n}\\] {escape_text(cites.sources[a].title)} — "
        f"{escape_text(cites.sources[a].published or 'undated')} · {escape_text(a)}"
        for a, n in cites.numbers.items()
    ]
    return rows, "  \n".join(listing)


TIMELINE_HEADERS = ["#", "Date", "Kind", "Event", "Sources", "Flags"]


def build_timeline_tab(settings_or_assistant: Settings | Assistant) -> None:
    """The "Timeline" tab's content, inside the current Tab/Blocks context."""
    source = _source(settings_or_assistant)
    state, note = source.load()
    events = state.timeline.events if state else []
    rows, listing = timeline_rows(events)

    status = gr.Markdown(escape_text(note), elem_id="timeline-status")
    with gr.Row():
        since = gr.Textbox(label="Since (YYYY[-MM[-DD]])", max_length=10, scale=1)
        until = gr.Textbox(label="Until", max_length=10, scale=1)
        apply = gr.Button("Apply / Reload", size="sm", scale=0, min_width=120)
    plot = gr.Plot(timeline_figure(events), label="Timeline", elem_id="timeline-plot")
    table = gr.Dataframe(
        value=rows,
        headers=TIMELINE_HEADERS,
        datatype="str",
        interactive=False,
        wrap=True,
        label="Events (one row per happening; [n] = sources below)",
        elem_id="timeline-table",
    )
    sources = gr.Markdown(listing, elem_id="timeline-sources")

    def update(start: str | None, end: str | None) -> tuple[Any, ...]:
        current, line = source.load()
        if current is None:
            return escape_text(line), timeline_figure([]), gr.update(value=[]), ""
        try:
            chosen = current.timeline.between((start or "").strip() or None, (end or "").strip() or None)
        except (ValueError, TypeError):
            line += " ⚠ Dates must be YYYY, YYYY-MM or YYYY-MM-DD."
            chosen = current.timeline.events
        r, lst = timeline_rows(chosen)
        return escape_text(line), timeline_figure(chosen), gr.update(value=r, headers=TIMELINE_HEADERS), lst

    apply.click(update, [since, until], [status, plot, table, sources], api_visibility="private")


# ---- wiring ------------------------------------------------------------------------------------------------------

ANALYST_TABS: list[tuple[str, Callable[[Any], None]]] = [
    ("Stances", build_stance_tab),
    ("Timeline", build_timeline_tab),
]


def add_analyst_tabs(settings_or_assistant: Settings | Assistant) -> None:
    """Create the "Stances" and "Timeline" tabs inside the open ``gr.Blocks()``/``gr.Tabs()`` context."""
    for title, build in ANALYST_TABS:
        with gr.Tab(title, elem_id=f"{title.lower()}-tab"):
            build(settings_or_assistant)
