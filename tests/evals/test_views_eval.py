"""The analyst views of the whole bundled corpus, scored against the gold and gated by evals/thresholds.json (the
same scoring as ``peacetalks eval --suite views``). Built once, on the session's corpus store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import assistant.embedding
from assistant.analyst.render import board_text, timeline_text
from assistant.analyst.state import ViewsState, refresh_views
from assistant.cli import app
from assistant.embedding import Embedder
from assistant.service import Assistant
from evals.metrics.views import below_thresholds, report_markdown, score_views, thresholds
from tests.assistant.analyst.conftest import write_corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus_views(corpus_assistant: Assistant) -> ViewsState:
    store = corpus_assistant.store
    with store.writer_lock():
        return refresh_views(corpus_assistant.settings, store)


def test_views_meet_the_thresholds(corpus_views: ViewsState) -> None:
    scores = score_views(corpus_views.board, corpus_views.timeline)
    assert not below_thresholds(scores), (scores.metrics, thresholds())
    report = report_markdown(scores)
    assert "| cell_recall |" in report and "## Timeline events" in report


def test_bundled_corpus_board_and_timeline(corpus_views: ViewsState) -> None:
    board = board_text(corpus_views.board)
    # Russia's grain-deal position changed between the 2022 agreement and the 2023 suspension, with both dates.
    assert "⟳ position changed: accepts / proposes (2022-07-22) → refuses / suspends / rejects (2023-07-17)" in board
    cell = corpus_views.board.cell("ukraine", "ceasefire")
    assert {s.sources[0].article_id for s in cell.statements} >= {
        "corpus/19_us_ukraine_jeddah_joint_statement_2025-03-11.md",
        "corpus/20_voa_editorial_ukraine_positive_step_2025-03.md",
    }
    timeline = timeline_text(corpus_views.timeline.events)
    first_meeting = next(e for e in corpus_views.timeline.events if e.iso == "2022-02-28" and e.kind == "talks")
    assert len(first_meeting.articles) == 2  # Wikipedia and its WikiMili mirror: one event, two citations
    stopped = next(e for e in corpus_views.timeline.events if e.iso == "2022-05")
    assert {c.iso for c in stopped.conflicts} >= {"2022-03"}  # "stopped in May 2022" vs "disrupted in March 2022"
    assert "⚠ conflicting date" in timeline and "≠ sources differ: istanbul" in timeline


def test_eval_suite_writes_a_run_directory(tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """``peacetalks eval --suite views`` end to end, on a small crafted corpus (where the gold cannot be met)."""
    monkeypatch.setattr(assistant.embedding, "Embedder", lambda *args, **kwargs: embedder)
    corpus = write_corpus(tmp_path / "corpus")
    result = CliRunner().invoke(
        app,
        ["eval", "--suite", "views", "--out", str(tmp_path / "run")],
        env={"PEACETALKS_DATA_DIR": str(tmp_path / "data"), "PEACETALKS_CORPUS_DIR": str(corpus)},
    )
    assert result.exit_code == 0, result.output
    assert "== views (19 gold cells, 21 gold events; extractive) ==" in result.stdout
    assert "below threshold: cell_recall = 0.0" in result.stdout
    data = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    assert data["metrics"]["events_built"] == 3.0 and len(data["events"]) == 21
    assert "| event_recall | 0.000 |" in (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
