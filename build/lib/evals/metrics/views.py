"""Scoring the analyst views against the team's gold: stance-board cells and timeline events over the bundled corpus.

Gold lives in ``evals/datasets/stances_gold.jsonl`` (party, issue, the expected stance in words, verbatim quotes with
their article) and ``evals/datasets/timeline_gold.jsonl`` (date, event, verbatim quotes with their articles, and for a
happening the sources date differently, the other dates and their quotes).

A built statement or event *reports* a gold item when it cites the gold article and its text overlaps a gold quote
(one contains the other, after normalising quotes, footnote markers and spaces; or they share most words).

* ``cell_recall`` — gold cells whose built cell holds a statement reporting a gold quote;
* ``change_recall`` — gold cells marked as a change of position whose built cell shows a change;
* ``event_recall`` — gold events reported by a built event with the gold date;
* ``event_date_precision`` — of the built events reporting some gold event, the share dated as that gold event;
* ``dedup_rate`` — gold events with several source articles reported by one built event citing all of them;
* ``conflict_recall`` — gold events with conflicting dates whose built event is flagged with one of the other dates;
* ``conflict_precision`` — of the built events matched to gold events that carry a conflict flag, the share whose
  gold event has conflicting dates.

``run_views_eval`` (``peacetalks eval --suite views``) ingests the bundled corpus into the evaluation store, refreshes
its views, scores them and writes ``results.json`` and ``report.md``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.analyst.stances import StanceBoard, cell_key
from assistant.analyst.timeline import Timeline, TimelineEvent
from assistant.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
STANCES_GOLD = REPO_ROOT / "evals" / "datasets" / "stances_gold.jsonl"
TIMELINE_GOLD = REPO_ROOT / "evals" / "datasets" / "timeline_gold.jsonl"
THRESHOLDS = REPO_ROOT / "evals" / "thresholds.json"
WORD_OVERLAP = 0.6


@dataclass(frozen=True)
class GoldQuote:
    article: str
    quote: str


@dataclass(frozen=True)
class GoldCell:
    id: str
    party: str
    issue: str
    stance: str
    evidence: list[GoldQuote]
    change: bool = False


@dataclass(frozen=True)
class GoldEvent:
    id: str
    date: str
    event: str
    evidence: list[GoldQuote]
    conflict_dates: list[str] = field(default_factory=list)

    @property
    def articles(self) -> set[str]:
        return {q.article for q in self.evidence}


def _quotes(rows: list[dict[str, Any]]) -> list[GoldQuote]:
    return [GoldQuote(r["article"], r["quote"]) for r in rows]


def load_stances_gold(path: Path = STANCES_GOLD) -> list[GoldCell]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        GoldCell(r["id"], r["party"], r["issue"], r["stance"], _quotes(r["evidence"]), bool(r.get("change")))
        for r in rows
    ]


def load_timeline_gold(path: Path = TIMELINE_GOLD) -> list[GoldEvent]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        GoldEvent(r["id"], r["date"], r["event"], _quotes(r["evidence"]), list(r.get("conflict", {}).get("dates", [])))
        for r in rows
    ]


def normalise(text: str) -> str:
    """Lower case, straight quotes, no wiki footnote markers, single spaces."""
    text = re.sub(r"\s?\[\d+\]", "", text)
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.lower().split())


def overlaps(text: str, quote: str) -> bool:
    """Does ``text`` report ``quote``: one contains the other, or they share most words (of the shorter)?"""
    a, b = normalise(text), normalise(quote)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    wa, wb = set(re.findall(r"\w+", a)), set(re.findall(r"\w+", b))
    return len(wa & wb) / max(1, min(len(wa), len(wb))) >= WORD_OVERLAP


def same_date(built_iso: str, gold_iso: str) -> bool:
    """The built event's date is the gold date (the same partial ISO date, or the gold day inside a built range)."""
    return built_iso == gold_iso


@dataclass
class ViewsScores:
    """The view metrics (module docstring) and the per-item verdicts behind them."""

    metrics: dict[str, float]
    cells: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def _cites(article_id: str, quote: str, gold: GoldQuote) -> bool:
    return article_id == gold.article and overlaps(quote, gold.quote)


def score_board(board: StanceBoard, gold: list[GoldCell]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    rows = []
    found = changes_gold = changes_found = 0
    for g in gold:
        cell = board.cells.get(cell_key(g.party, g.issue))
        statements = cell.statements if cell and g.party in board.parties else []
        hit = next(
            (
                s
                for s in statements
                if any(
                    src.article_id == q.article and overlaps(src.quote, q.quote)
                    for src in s.sources
                    for q in g.evidence
                )
            ),
            None,
        )
        found += hit is not None
        changed = bool(cell and cell.changes)
        if g.change:
            changes_gold += 1
            changes_found += changed
        rows.append(
            {
                "id": g.id,
                "cell": f"{g.party} × {g.issue}",
                "found": hit is not None,
                "statement": hit.text if hit else None,
                "statements": len(statements),
                "change_expected": g.change,
                "change_shown": changed,
            }
        )
    metrics = {"cell_recall": _ratio(found, len(gold)), "change_recall": _ratio(changes_found, changes_gold)}
    return metrics, rows


def _reports(event: TimelineEvent, g: GoldEvent) -> set[str]:
    """The gold articles whose quote this built event reports (via the words each source gives for the date)."""
    reports = event.reports or [[s.article_id, s.shown] for s in event.sources]
    return {
        q.article for article, words in reports for q in g.evidence if article == q.article and overlaps(words, q.quote)
    }


def score_timeline(timeline: Timeline, gold: list[GoldEvent]) -> tuple[dict[str, float], list[dict[str, Any]]]:
    rows = []
    found = multi = deduped = conflicts_gold = conflicts_found = 0
    reporting: dict[str, list[str]] = {}  # built event id -> gold ids it reports
    flagged_right = flagged_all = 0
    for g in gold:
        matches = [e for e in timeline.events if _reports(e, g)]
        for e in matches:
            reporting.setdefault(e.event_id, []).append(g.id)
        dated = [e for e in matches if same_date(e.iso, g.date)]
        best = max(dated, key=lambda e: len(_reports(e, g)), default=None)
        found += best is not None
        if len(g.articles) > 1:
            multi += 1
            deduped += any(_reports(e, g) == g.articles for e in dated)
        flagged = bool(best and best.conflicts)
        if g.conflict_dates:
            conflicts_gold += 1
            conflicts_found += bool(best and {c.iso for c in best.conflicts} & set(g.conflict_dates))
        if best is not None:
            flagged_all += flagged
            flagged_right += flagged and bool(g.conflict_dates)
        rows.append(
            {
                "id": g.id,
                "date": g.date,
                "found": best is not None,
                "built_dates": sorted({e.date_label for e in matches}),
                "articles": sorted(_reports(best, g)) if best else [],
                "conflicts": [c.date for c in best.conflicts] if best else [],
            }
        )
    gold_by_id = {g.id: g for g in gold}
    reporting_events = [e for e in timeline.events if e.event_id in reporting]
    right = sum(any(same_date(e.iso, gold_by_id[i].date) for i in reporting[e.event_id]) for e in reporting_events)
    metrics = {
        "event_recall": _ratio(found, len(gold)),
        "event_date_precision": _ratio(right, len(reporting_events)),
        "dedup_rate": _ratio(deduped, multi),
        "conflict_recall": _ratio(conflicts_found, conflicts_gold),
        "conflict_precision": _ratio(flagged_right, flagged_all),
    }
    return metrics, rows


def score_views(board: StanceBoard, timeline: Timeline) -> ViewsScores:
    board_metrics, cells = score_board(board, load_stances_gold())
    timeline_metrics, events = score_timeline(timeline, load_timeline_gold())
    metrics = {**board_metrics, **timeline_metrics}
    metrics["events_built"] = float(len(timeline.events))
    metrics["cells_filled"] = float(sum(1 for c in board.cells.values() if c.statements and c.party in board.parties))
    return ViewsScores(metrics, cells, events)


def thresholds() -> dict[str, float]:
    """The CI floor for the views metrics (``views.min`` in evals/thresholds.json)."""
    data = json.loads(THRESHOLDS.read_text(encoding="utf-8"))
    return {k: float(v) for k, v in data.get("views", {}).get("min", {}).items()}


def below_thresholds(scores: ViewsScores) -> dict[str, float]:
    return {k: round(scores.metrics.get(k, 0.0), 3) for k, v in thresholds().items() if scores.metrics.get(k, 0.0) < v}


def report_markdown(scores: ViewsScores) -> str:
    lines = ["# Analyst views: gold evaluation", "", "| metric | value | threshold |", "|---|---|---|"]
    floor = thresholds()
    for key, value in scores.metrics.items():
        shown = f"{value:.3f}" if key not in ("events_built", "cells_filled") else f"{value:.0f}"
        lines.append(f"| {key} | {shown} | {floor.get(key, '')} |")
    lines += [
        "",
        "## Board cells",
        "",
        "| gold | cell | found | statements | change expected / shown |",
        "|---|---|---|---|---|",
    ]
    for row in scores.cells:
        lines.append(
            f"| {row['id']} | {row['cell']} | {'yes' if row['found'] else 'NO'} | {row['statements']} | "
            f"{row['change_expected']} / {row['change_shown']} |"
        )
    lines += ["", "## Timeline events", "", "| gold | date | found | built dates | sources | conflicts |"]
    lines.append("|---|---|---|---|---|---|")
    for row in scores.events:
        lines.append(
            f"| {row['id']} | {row['date']} | {'yes' if row['found'] else 'NO'} | {', '.join(row['built_dates'])} | "
            f"{len(row['articles'])} | {', '.join(row['conflicts'])} |"
        )
    return "\n".join(lines) + "\n"


def run_views_eval(settings: Settings, out: Path | None = None, progress: bool = True) -> str:
    """Ingest the bundled corpus into the evaluation store, refresh its views, score them, write the run directory;
    returns the summary table for the terminal."""
    from assistant.analyst.state import make_llm, refresh_views
    from assistant.embedding import Embedder
    from assistant.store import ChunkStore
    from ingest.loaders import discover_files, load_article
    from ingest.pipeline import build_ingest_pipeline

    sources, errors = discover_files([settings.corpus_dir])
    if errors:
        raise RuntimeError("; ".join(str(e) for e in errors))
    suite_settings = settings.model_copy(update={"data_dir": settings.data_dir / "evals" / "stores" / "corpus"})
    store = ChunkStore(suite_settings, Embedder(settings.embedding_model_path, settings.embedding_batch_size))
    pipeline = build_ingest_pipeline(suite_settings, store, show_progress=progress)
    report = pipeline.run_articles([load_article(s) for s in sources], str(settings.corpus_dir.resolve()))
    if not report.ok:
        raise RuntimeError(f"ingest of the corpus failed: {report.errors[:3]}")
    with store.writer_lock():
        state = refresh_views(suite_settings, store, make_llm(settings))
    scores = score_views(state.board, state.timeline)
    run_dir = out or settings.data_dir / "evals" / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-views"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text(json.dumps(scores.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    (run_dir / "report.md").write_text(report_markdown(scores), encoding="utf-8")
    lines = [f"== views ({len(scores.cells)} gold cells, {len(scores.events)} gold events; {state.backend}) =="]
    for key, value in scores.metrics.items():
        lines.append(f"{key:<22}{value:>10.3f}")
    for key, value in below_thresholds(scores).items():
        lines.append(f"below threshold: {key} = {value}")
    lines.append(f"report: {run_dir / 'report.md'}")
    return "\n".join(lines)
