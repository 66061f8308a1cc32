"""``peacetalks stances`` and ``peacetalks timeline``: the analyst views in the terminal.

Both read the views stored at ingest time (instant: no model is loaded). When there are none yet, or the store
changed since they were built (an ingest elsewhere, a ``peacetalks remove``), they are brought up to date first,
incrementally, under the ingest lock. ``register_analyst_commands(app)`` adds the two commands to the CLI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.config import Settings

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where the store lives [env: PEACETALKS_DATA_DIR; default .peacetalks]"),
]
Rebuild = Annotated[bool, typer.Option("--rebuild", help="Rebuild the views from the store before showing them")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _settings(data_dir: Path | None) -> Settings:
    """Env vars first, then the flag (as the rest of the CLI does)."""
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir is not None else {}
    return Settings(**overrides)


def load_or_build(settings: Settings, rebuild: bool = False) -> Any:
    """The stored views, refreshed first when missing, stale or ``rebuild`` is asked (messages go to stderr)."""
    from assistant.analyst.state import (
        ViewsBuilder,
        is_stale,
        load_views,
        make_llm,
        refresh_views,
        save_views,
        whats_new,
    )

    state = load_views(settings)
    if state is not None and not rebuild and not is_stale(settings, state):
        return state
    if not settings.chroma_server and not settings.chroma_dir.exists():
        raise _fail(f"nothing has been ingested into {settings.data_dir} yet: run `peacetalks ingest` first")
    from assistant.embedding import Embedder
    from assistant.store import ChunkStore, StoreError

    reason = "no views stored yet" if state is None else ("--rebuild" if rebuild else "the store changed since")
    typer.echo(f"building the analyst views ({reason}) …", err=True)
    try:
        store = ChunkStore(settings, Embedder(settings.embedding_model_path, settings.embedding_batch_size))
        with store.writer_lock():
            if rebuild and state is not None:
                # A rebuild from scratch: forget the stored extraction, keep the old views only for "what's new".
                fresh = ViewsBuilder(store, llm=make_llm(settings)).run(None)
                fresh.whats_new = whats_new(state, fresh)
                save_views(settings, fresh)
                state = fresh
            else:
                state = refresh_views(settings, store, make_llm(settings))
    except StoreError as error:
        raise _fail(str(error)) from None
    typer.echo(state.stats.summary(), err=True)
    typer.echo(state.whats_new.summary(), err=True)
    return state


def _header(state: Any, what: str) -> str:
    return f"{what} — {len(state.articles)} articles, {state.backend} backend, built {state.built_at}"


def stances(
    party: Annotated[str | None, typer.Option(help="Only this party (russia, 'United States', eu …)")] = None,
    issue: Annotated[str | None, typer.Option(help="Only this issue (nato, ceasefire, 'black sea' …)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the board (or the selected cells) as JSON")] = False,
    rebuild: Rebuild = False,
    data_dir: DataDir = None,
) -> None:
    """The stance board: each party's statements on each issue, with citation and date, newest first."""
    from assistant.analyst.render import board_text, resolve_issue, resolve_party
    from assistant.analyst.vocabulary import ISSUES, PARTIES

    party_key, issue_key = resolve_party(party), resolve_issue(issue)
    if party and party_key is None:
        raise _fail(f"unknown party {party!r}; parties: {', '.join(p.name for p in PARTIES)}", 2)
    if issue and issue_key is None:
        raise _fail(f"unknown issue {issue!r}; issues: {', '.join(i.key for i in ISSUES)}", 2)
    state = load_or_build(_settings(data_dir), rebuild)
    board = state.board
    if party_key and party_key not in board.parties:
        raise _fail(f"{party} is not on the board (the corpus holds no position of it)", 2)
    if as_json:
        cells = {
            k: c.to_dict()
            for k, c in board.cells.items()
            if (party_key is None or c.party == party_key) and (issue_key is None or c.issue == issue_key)
        }
        out = {"built_at": state.built_at, "backend": state.backend, "parties": board.parties, "issues": board.issues}
        typer.echo(json.dumps({**out, "cells": cells}, ensure_ascii=False, indent=2))
        return
    typer.echo(board_text(board, party_key, issue_key, header=_header(state, "Stance board")))


def timeline(
    since: Annotated[str | None, typer.Option(help="Only events on/after this date (YYYY[-MM[-DD]])")] = None,
    until: Annotated[str | None, typer.Option(help="Only events on/before this ISO date")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON")] = False,
    rebuild: Rebuild = False,
    data_dir: DataDir = None,
) -> None:
    """The timeline: dated events from the corpus, one per happening with all its sources, conflicting dates flagged."""
    from assistant.analyst.render import timeline_text

    for value in (since, until):
        if value is not None and not _valid_date(value):
            raise _fail(f"dates must be ISO (YYYY, YYYY-MM or YYYY-MM-DD), got {value!r}", 2)
    state = load_or_build(_settings(data_dir), rebuild)
    events = state.timeline.between(since, until)
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in events], ensure_ascii=False, indent=2))
        return
    conflicts = sum(1 for e in events if e.conflicts)
    header = _header(state, f"Timeline: {len(events)} events ({conflicts} with conflicting dates)")
    typer.echo(timeline_text(events, header=header))
    sys.stdout.flush()


def _valid_date(value: str) -> bool:
    import re

    from assistant.analyst import dates

    if not re.fullmatch(r"\d{4}(?:-\d{2}(?:-\d{2})?)?", value):
        return False
    try:
        return dates.interval(value) is not None
    except ValueError:
        return False


def register_analyst_commands(app: typer.Typer) -> None:
    """Add ``stances`` and ``timeline`` to the ``peacetalks`` CLI."""
    app.command("stances")(stances)
    app.command("timeline")(timeline)
