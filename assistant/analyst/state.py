"""The analyst views as stored corpus state: built at ingest time, rebuilt only for what changed, diffed.

``<data dir>/views/state.json`` holds, per ingested article, its content hash and what was extracted from it (event
mentions with their vectors, stance candidates, party counts), plus the built timeline and stance board and the
"what's new" of the last refresh. Opening a tab or running ``peacetalks stances`` reads that file: no model, no
store, instant.

``ViewsBuilder.run(previous)`` refreshes incrementally:

* an article whose hash (and the views' configuration) is unchanged keeps its extraction; only added or changed
  articles are read and embedded, and removed ones are dropped;
* the timeline is re-clustered from all mentions (cheap: vectors are stored, nothing is embedded again);
* a board cell is recomputed only when its key changed — the hash of its candidates, so a cell changes exactly when
  a statement that could fill it appears, changes or disappears; every other cell is reused as stored.

``RefreshStats`` counts what was reused and recomputed (the tests assert on it) and ``WhatsNew`` says which cells
and events changed, with the new evidence.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant.analyst import dates
from assistant.analyst.corpus import ArticleInfo, article_chunks, article_sentences, list_articles, units
from assistant.analyst.stances import (
    MAX_STATEMENTS,
    Candidate,
    CellBuilder,
    StanceBoard,
    StanceCell,
    Statement,
    board_parties,
    candidates_key,
    cell_key,
    extract_candidates,
    party_mentions,
)
from assistant.analyst.timeline import (
    EventMention,
    Timeline,
    TimelineEvent,
    build_timeline,
    embed_mentions,
    mention_drafts,
)
from assistant.analyst.vocabulary import ISSUE_BY_KEY, ISSUES, PARTIES, PARTY_BY_KEY, Issue
from assistant.answering.base import Answerer
from assistant.config import Settings
from assistant.embedding import Embedder, ProgressCallback
from assistant.store import ChunkStore
from assistant.support import LexicalSemanticJudge, SupportJudge

VIEWS_VERSION = 3  # 2: signposts hold no stance and are never quoted; 3: nor closing summaries ("In conclusion, ...")
STATE_FILE = "state.json"


def views_dir(settings: Settings) -> Path:
    return settings.data_dir / "views"


class CachingEmbedder(Embedder):
    """The store's embedder with a per-build memory of texts already embedded: board cells share most sentences."""

    def __init__(self, inner: Embedder) -> None:  # no super().__init__: the model is the inner one's
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.batch_size = inner.batch_size
        self.max_seq_length = getattr(inner, "max_seq_length", 256)
        self._memory: dict[str, np.ndarray] = {}
        self.embedded = 0  # texts actually sent to the model

    def embed_texts(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memory]
        if missing:
            for text, vec in zip(missing, self.inner.embed_texts(missing), strict=True):
                self._memory[text] = vec
            self.embedded += len(missing)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._memory[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_texts([text])[0]

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


@dataclass
class ArticleExtract:
    """What the views took from one article, kept until the article's hash changes."""

    info: ArticleInfo
    mentions: list[EventMention]
    candidates: list[Candidate]
    party_counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "info": asdict(self.info),
            "mentions": [m.to_dict() for m in self.mentions],
            "candidates": [c.to_dict() for c in self.candidates],
            "party_counts": self.party_counts,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ArticleExtract:
        return ArticleExtract(
            ArticleInfo(**data["info"]),
            [EventMention.from_dict(m) for m in data["mentions"]],
            [Candidate.from_dict(c) for c in data["candidates"]],
            dict(data["party_counts"]),
        )


@dataclass
class RefreshStats:
    """What one refresh did: articles read vs reused, cells recomputed vs reused."""

    articles_extracted: list[str] = field(default_factory=list)
    articles_reused: list[str] = field(default_factory=list)
    articles_removed: list[str] = field(default_factory=list)
    cells_recomputed: list[str] = field(default_factory=list)
    cells_reused: list[str] = field(default_factory=list)
    texts_embedded: int = 0
    full_rebuild: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"views: {len(self.articles_extracted)} articles read, {len(self.articles_reused)} reused, "
            f"{len(self.articles_removed)} dropped | {len(self.cells_recomputed)} board cells recomputed, "
            f"{len(self.cells_reused)} reused | {self.seconds:.1f}s"
        )


@dataclass
class CellDiff:
    """A board cell whose statements changed: the new and the dropped ones, and any new change of position."""

    party: str
    issue: str
    added: list[Statement]
    removed: list[Statement]
    new_changes: list[str] = field(default_factory=list)


@dataclass
class EventDiff:
    """A timeline event that appeared, disappeared, or gained/lost sources or conflicts."""

    status: str  # "added" | "removed" | "changed"
    event: TimelineEvent
    note: str = ""


@dataclass
class WhatsNew:
    """What a refresh changed in the views, with the new evidence."""

    first_build: bool
    articles_changed: list[str] = field(default_factory=list)
    articles_removed: list[str] = field(default_factory=list)
    cells: list[CellDiff] = field(default_factory=list)
    events: list[EventDiff] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.first_build and not self.cells and not self.events

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> WhatsNew:
        data = dict(data)
        data["cells"] = [
            CellDiff(
                c["party"],
                c["issue"],
                [Statement.from_dict(s) for s in c["added"]],
                [Statement.from_dict(s) for s in c["removed"]],
                list(c.get("new_changes", [])),
            )
            for c in data.get("cells", [])
        ]
        data["events"] = [
            EventDiff(e["status"], TimelineEvent.from_dict(e["event"]), e.get("note", ""))
            for e in data.get("events", [])
        ]
        return WhatsNew(**data)

    def summary(self, max_items: int = 12) -> str:
        """Plain text for the terminal and the UI (corpus text is quoted as it is; the UI escapes it)."""
        if self.first_build:
            t = self.totals
            return (
                f"Analyst views built: {t.get('cells_filled', 0)} of {t.get('cells', 0)} board cells hold statements, "
                f"{t.get('events', 0)} timeline events ({t.get('conflicts', 0)} with conflicting dates)."
            )
        if self.empty:
            return "What's new: nothing changed in the stance board or the timeline."
        lines = ["What's new in the analyst views"]
        if self.articles_changed or self.articles_removed:
            parts = []
            if self.articles_changed:
                parts.append("new/changed " + ", ".join(self.articles_changed))
            if self.articles_removed:
                parts.append("removed " + ", ".join(self.articles_removed))
            lines[0] += f" ({'; '.join(parts)})"
        lines[0] += ":"
        lines.append(f"  Stance board: {len(self.cells)} cell(s) changed")
        for diff in self.cells[:max_items]:
            lines.append(f"    {_party_name(diff.party)} × {_issue_label(diff.issue)}")
            for s in diff.added:
                lines.append(f"      + “{_clip(s.text)}” — {_cite(s)}")
            for s in diff.removed:
                lines.append(f"      − “{_clip(s.text)}” — {_cite(s)}")
            for change in diff.new_changes:
                lines.append(f"      ⟳ position changed: {change}")
        if len(self.cells) > max_items:
            lines.append(f"    … and {len(self.cells) - max_items} more")
        counts = {k: sum(1 for e in self.events if e.status == k) for k in ("added", "changed", "removed")}
        lines.append(
            f"  Timeline: {counts['added']} event(s) added, {counts['changed']} changed, {counts['removed']} removed"
        )
        sign = {"added": "+", "removed": "−", "changed": "~"}
        for event_diff in self.events[:max_items]:
            e = event_diff.event
            note = f" [{event_diff.note}]" if event_diff.note else ""
            where = ", ".join(e.articles)
            lines.append(f"    {sign[event_diff.status]} {e.date_label}  “{_clip(e.description)}” — {where}{note}")
        if len(self.events) > max_items:
            lines.append(f"    … and {len(self.events) - max_items} more")
        return "\n".join(lines)


def _clip(text: str, n: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _cite(s: Statement) -> str:
    return ", ".join(f"{src.article_id} ({src.published or 'undated'})" for src in s.sources)


def _party_name(key: str) -> str:
    return PARTY_BY_KEY[key].name if key in PARTY_BY_KEY else key


def _issue_label(key: str) -> str:
    return ISSUE_BY_KEY[key].label if key in ISSUE_BY_KEY else key


@dataclass
class ViewsState:
    """Everything the views need, as stored in ``views/state.json``."""

    version: int
    config: str
    backend: str
    built_at: str
    articles: dict[str, ArticleExtract]
    board: StanceBoard
    timeline: Timeline
    stats: RefreshStats = field(default_factory=RefreshStats)
    whats_new: WhatsNew = field(default_factory=lambda: WhatsNew(first_build=True))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "config": self.config,
            "backend": self.backend,
            "built_at": self.built_at,
            "articles": {k: a.to_dict() for k, a in self.articles.items()},
            "board": self.board.to_dict(),
            "timeline": self.timeline.to_dict(),
            "stats": asdict(self.stats),
            "whats_new": self.whats_new.to_dict(),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ViewsState:
        return ViewsState(
            version=int(data["version"]),
            config=str(data["config"]),
            backend=str(data.get("backend", "extractive")),
            built_at=str(data.get("built_at", "")),
            articles={k: ArticleExtract.from_dict(a) for k, a in data["articles"].items()},
            board=StanceBoard.from_dict(data["board"]),
            timeline=Timeline.from_dict(data["timeline"]),
            stats=RefreshStats(**data.get("stats", {})),
            whats_new=WhatsNew.from_dict(data.get("whats_new", {"first_build": True})),
        )

    @property
    def article_hashes(self) -> dict[str, str]:
        return {k: a.info.sha for k, a in self.articles.items()}


def load_views(settings: Settings) -> ViewsState | None:
    """The stored views, or None when there are none (or they were written by another version)."""
    path = views_dir(settings) / STATE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if int(data.get("version", -1)) != VIEWS_VERSION:
            return None
        return ViewsState.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_views(settings: Settings, state: ViewsState) -> Path:
    """Write atomically (a reader never sees half a file)."""
    folder = views_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STATE_FILE
    tmp = folder / f".{STATE_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state.to_dict(), ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def stored_article_hashes(settings: Settings) -> dict[str, str] | None:
    """The store's article hashes, read straight from its ingest records (no model, no Chroma); None when there
    are no records yet or they cannot be read."""
    import sqlalchemy as sa

    from assistant.store import ARTICLES

    if settings.records_url is None and not settings.records_db.is_file():
        return None
    engine = sa.create_engine(settings.records_location)
    try:
        with engine.connect() as db:
            columns = (ARTICLES.c.article_id, ARTICLES.c.content_sha256, ARTICLES.c.config_fingerprint)
            rows = db.execute(sa.select(*columns)).all()
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    return {str(a): f"{h}:{f}" for a, h, f in rows}


def is_stale(settings: Settings, state: ViewsState) -> bool:
    """Do the stored views describe another corpus than the store holds (an ingest or removal since)?"""
    hashes = stored_article_hashes(settings)
    return hashes is not None and hashes != state.article_hashes


def views_config(embedder: Embedder, backend: str) -> str:
    """Everything that changes what the views would say: code version, model, backend, the parties and issues."""
    vocab = [(p.key, p.pattern.pattern, p.voice.pattern if p.voice else "") for p in PARTIES]
    vocab += [(i.key, i.pattern.pattern, i.query) for i in ISSUES]
    raw = json.dumps([VIEWS_VERSION, embedder.model_id, backend, MAX_STATEMENTS, vocab])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class ViewsBuilder:
    """``run(previous) -> ViewsState``: the incremental refresh described in the module docstring."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder | None = None,
        llm: Answerer | None = None,
        judge: SupportJudge | None = None,
    ) -> None:
        self.store = store
        self.embedder = CachingEmbedder(embedder or store.embedder)
        self.llm = llm
        self.judge = judge or LexicalSemanticJudge(self.embedder)
        self.cells = CellBuilder(store, self.embedder, self.judge, llm=llm)

    @property
    def backend(self) -> str:
        return self.cells.backend

    def _extract(self, infos: Sequence[ArticleInfo]) -> dict[str, ArticleExtract]:
        """Read and extract the given articles; their sentences are embedded together in one batch."""
        read = []
        for info in infos:
            chunks = article_chunks(self.store, info.article_id)
            sentences = article_sentences(chunks)
            read.append((info, mention_drafts(info, sentences), units(sentences, {c.chunk_id: c for c in chunks})))
        batch = [t for _, drafts, _ in read for d in drafts for t in d.texts]
        if batch:
            self.embedder.embed_texts(list(dict.fromkeys(batch)))
        return {
            info.article_id: ArticleExtract(
                info=info,
                mentions=embed_mentions(drafts, self.embedder.embed_texts),
                candidates=extract_candidates(info, article_units),
                party_counts=party_mentions(article_units),
            )
            for info, drafts, article_units in read
        }

    def run(self, previous: ViewsState | None = None) -> ViewsState:
        started = time.perf_counter()
        config = views_config(self.embedder, self.backend)
        reusable = previous if previous is not None and previous.config == config else None
        stats = RefreshStats(full_rebuild=reusable is None)

        articles: dict[str, ArticleExtract] = {}
        current = list_articles(self.store)
        changed: list[ArticleInfo] = []
        for info in current:
            known = reusable.articles.get(info.article_id) if reusable else None
            if known is not None and known.info == info:
                articles[info.article_id] = known
                stats.articles_reused.append(info.article_id)
            else:
                changed.append(info)
                stats.articles_extracted.append(info.article_id)
        articles.update(self._extract(changed))
        articles = {info.article_id: articles[info.article_id] for info in current}
        if previous is not None:
            stats.articles_removed = sorted(set(previous.articles) - {i.article_id for i in current})

        timeline = build_timeline([m for a in articles.values() for m in a.mentions])

        by_cell: dict[str, list[Candidate]] = {}
        dated = event_dates(timeline)
        for extract in articles.values():
            for cand in extract.candidates:
                when = dated.get((cand.source.article_id, cand.source.start))
                if cand.stated is None and when is not None:
                    cand = dataclasses.replace(cand, stated=when)  # the timeline dated this sentence
                by_cell.setdefault(cell_key(cand.party, cand.issue), []).append(cand)
        parties = board_parties(
            {k: a.party_counts for k, a in articles.items()}, {c.party for a in articles.values() for c in a.candidates}
        )
        cells: dict[str, StanceCell] = {}
        todo: list[tuple[str, Issue, list[Candidate], str]] = []
        for party_key in parties:
            for issue in ISSUES:
                key = cell_key(party_key, issue.key)
                candidates = sorted(by_cell.get(key, []), key=lambda c: (c.source.article_id, c.source.start))
                fingerprint = candidates_key(candidates, config)
                old = reusable.board.cells.get(key) if reusable else None
                if old is not None and old.key == fingerprint:
                    cells[key] = old
                    stats.cells_reused.append(key)
                else:
                    todo.append((party_key, issue, candidates, fingerprint))
        self.cells.prepare([(PARTY_BY_KEY[p], issue, cands) for p, issue, cands, _ in todo])
        for party_key, issue, candidates, fingerprint in todo:
            key = cell_key(party_key, issue.key)
            cells[key] = self.cells.run(PARTY_BY_KEY[party_key], issue, candidates, fingerprint)
            stats.cells_recomputed.append(key)
        cells = {cell_key(p, i.key): cells[cell_key(p, i.key)] for p in parties for i in ISSUES}
        # A party that is not a core one gets a row only when some statement of it survived (its cells are kept, so
        # the next refresh reuses them).
        shown = [
            p for p in parties if PARTY_BY_KEY[p].core or any(cells[cell_key(p, i.key)].statements for i in ISSUES)
        ]
        board = StanceBoard(shown, [i.key for i in ISSUES], cells)

        stats.texts_embedded = self.embedder.embedded
        stats.seconds = time.perf_counter() - started
        state = ViewsState(
            version=VIEWS_VERSION,
            config=config,
            backend=self.backend,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            articles=articles,
            board=board,
            timeline=timeline,
            stats=stats,
        )
        state.whats_new = whats_new(previous, state)
        return state


def event_dates(timeline: Timeline) -> dict[tuple[str, int], str]:
    """Sentences the timeline dates unambiguously (one full date): (article id, sentence start) -> ISO date. A
    statement quoting such a sentence takes that date ("On March 11 in Jeddah, ..." in an undated editorial)."""
    found: dict[tuple[str, int], set[str]] = {}
    for event in timeline.events:
        if event.iso.startswith("--") or event.year_inferred:
            continue
        for source in event.sources:
            found.setdefault((source.article_id, source.start), set()).add(event.iso)
    return {key: next(iter(isos)) for key, isos in found.items() if len(isos) == 1}


# ---- what's new --------------------------------------------------------------------------------------------------


def _statement_id(s: Statement) -> str:
    return " ".join(s.text.split())


def _sources_of(s: Statement) -> set[tuple[str, int]]:
    return {(src.article_id, src.start) for src in s.sources}


def _diff_cells(old: StanceBoard | None, new: StanceBoard) -> list[CellDiff]:
    diffs = []
    for key, cell in new.cells.items():
        before = old.cells.get(key) if old else None
        old_statements = {_statement_id(s): s for s in (before.statements if before else [])}
        new_statements = {_statement_id(s): s for s in cell.statements}
        added = [
            s
            for k, s in new_statements.items()
            if k not in old_statements or _sources_of(s) - _sources_of(old_statements[k])
        ]
        removed = [s for k, s in old_statements.items() if k not in new_statements]
        old_changes = {c.summary for c in (before.changes if before else [])}
        new_changes = [c.summary for c in cell.changes if c.summary not in old_changes]
        if added or removed or new_changes:
            diffs.append(CellDiff(cell.party, cell.issue, added, removed, new_changes))
    if old:
        for key, cell in old.cells.items():
            if key not in new.cells and cell.statements:  # a party dropped off the board
                diffs.append(CellDiff(cell.party, cell.issue, [], list(cell.statements)))
    return diffs


def _diff_events(old: Timeline | None, new: Timeline) -> list[EventDiff]:
    old_events = old.events if old else []
    matched_old: set[int] = set()
    diffs: list[EventDiff] = []
    for event in new.events:
        mids = set(event.mention_ids)
        match = next(
            (
                i
                for i, o in enumerate(old_events)
                if i not in matched_old
                and (mids & set(o.mention_ids) or (o.iso, o.description) == (event.iso, event.description))
            ),
            None,
        )
        if match is None:
            diffs.append(EventDiff("added", event))
            continue
        matched_old.add(match)
        before = old_events[match]
        notes = []
        gained = [a for a in event.articles if a not in before.articles]
        lost = [a for a in before.articles if a not in event.articles]
        if gained:
            notes.append("new source: " + ", ".join(gained))
        if lost:
            notes.append("source gone: " + ", ".join(lost))
        if (before.iso, before.iso_end, before.qualifier) != (event.iso, event.iso_end, event.qualifier):
            notes.append(f"date was {before.date_label}")
        old_conflicts, new_conflicts = {c.date for c in before.conflicts}, {c.date for c in event.conflicts}
        if new_conflicts - old_conflicts:
            notes.append("now conflicts with " + ", ".join(sorted(new_conflicts - old_conflicts)))
        if old_conflicts - new_conflicts:
            notes.append("no longer conflicts with " + ", ".join(sorted(old_conflicts - new_conflicts)))
        if notes:
            diffs.append(EventDiff("changed", event, "; ".join(notes)))
    diffs.extend(EventDiff("removed", o) for i, o in enumerate(old_events) if i not in matched_old)
    diffs.sort(key=lambda d: dates.sort_key(d.event.iso, d.event.qualifier))
    return diffs


def whats_new(previous: ViewsState | None, state: ViewsState) -> WhatsNew:
    """The difference between two builds (a first build only reports totals)."""
    totals = {
        "cells": len(state.board.cells),
        "cells_filled": sum(1 for c in state.board.cells.values() if c.statements),
        "events": len(state.timeline.events),
        "conflicts": sum(1 for e in state.timeline.events if e.conflicts),
    }
    if previous is None:
        return WhatsNew(first_build=True, totals=totals)
    changed = [
        k for k, a in state.articles.items() if k not in previous.articles or previous.articles[k].info != a.info
    ]
    return WhatsNew(
        first_build=False,
        articles_changed=sorted(changed),
        articles_removed=sorted(set(previous.articles) - set(state.articles)),
        cells=_diff_cells(previous.board, state.board),
        events=_diff_events(previous.timeline, state.timeline),
        totals=totals,
    )


# ---- entry points -------------------------------------------------------------------------------------------------


def make_llm(settings: Settings) -> Answerer | None:
    """The LLM answerer when one is configured (the board's cells are then written by it), else None."""
    if not settings.llm_configured:
        return None
    from assistant.answering.llm import LLMAnswerer, make_chat_model

    return LLMAnswerer(make_chat_model(settings), name=f"llm:{settings.llm_model}")


def refresh_views(settings: Settings, store: ChunkStore, llm: Answerer | None = None) -> ViewsState:
    """Load the stored views, refresh them against the store, save and return them (``state.whats_new`` says what
    changed). The caller holds the ingest lock when the store may be written concurrently."""
    previous = load_views(settings)
    state = ViewsBuilder(store, llm=llm).run(previous)
    save_views(settings, state)
    return state
