"""``peacetalks ingest`` prints what's new; ``peacetalks stances`` and ``timeline`` print the stored views (as
tables or JSON), build them when missing and refresh them when the store changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import assistant.embedding
from assistant.cli import app
from assistant.embedding import Embedder
from tests.assistant.analyst.conftest import write_corpus


@pytest.fixture
def shared_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    """Every ``Embedder(...)`` the CLI builds is the session's already-loaded model."""
    monkeypatch.setattr(assistant.embedding, "Embedder", lambda *args, **kwargs: embedder)


def run(args: list[str], data_dir: Path) -> Any:
    result = CliRunner().invoke(app, args, env={"PEACETALKS_DATA_DIR": str(data_dir)})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_cli_views(tmp_path: Path, shared_model: None) -> None:
    corpus, data = write_corpus(tmp_path / "corpus"), tmp_path / "data"
    assert run(["stances"], data).exit_code == 1  # nothing ingested yet

    ingested = run(["ingest", str(corpus), "--quiet"], data)
    assert ingested.exit_code == 0, ingested.output
    assert "views: 3 articles read" in ingested.stdout
    assert "Analyst views built:" in ingested.stdout

    board = run(["stances"], data)
    assert board.exit_code == 0, board.output
    out = board.stdout
    assert out.startswith("Stance board — 3 articles, extractive backend")
    assert "Overview: statements per cell" in out
    assert "“Ukraine expressed its readiness to accept a temporary ceasefire if Russia does the same.”" in out
    assert "⟳ position changed: refuses / suspends / rejects (2023-06-06) → accepts / proposes (2024-02-01)" in out
    assert "no statement in the corpus" in out
    assert "[1] Statement on a temporary ceasefire — Ministry of Foreign Affairs of Ukraine, 2024-02-01" in out
    assert "building" not in board.output  # read from the store: nothing rebuilt

    one = run(["stances", "--party", "Ukraine", "--issue", "ceasefire", "--json"], data)
    cells = json.loads(one.stdout)["cells"]
    assert list(cells) == ["ukraine|ceasefire"]
    assert [s["date"] for s in cells["ukraine|ceasefire"]["statements"]] == ["2024-02-01", "2023-06-06"]
    assert run(["stances", "--party", "Atlantis"], data).exit_code == 2

    timeline = run(["timeline"], data)
    assert timeline.exit_code == 0
    assert timeline.stdout.splitlines()[0].startswith("Timeline: 3 events (2 with conflicting dates)")
    row = timeline.stdout.split("2023-06-05      talks", 1)[1].split("\n\n", 1)[0]
    assert "Istanbul" in row and "[1][2]" in row  # one event, two citations
    assert "⚠ conflicting date: 2022-07-27 according to" in timeline.stdout
    recent = json.loads(run(["timeline", "--json", "--since", "2023-01"], data).stdout)
    assert [e["iso"] for e in recent] == ["2023-06-05"] and len(recent[0]["sources"]) == 2
    assert run(["timeline", "--since", "March"], data).exit_code == 2

    # The store changes behind the views' back: the next command refreshes them first.
    assert run(["remove", "corpus/b_daily.md"], data).exit_code == 0
    after = run(["timeline"], data)
    assert "the store changed since" in after.output
    assert "Timeline: 2 events (0 with conflicting dates)" in after.stdout  # 27 July went with its article
