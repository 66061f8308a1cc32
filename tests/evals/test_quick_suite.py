"""The quick evaluation suite, run in CI: corpus_qa with the extractive backend, gated by evals/thresholds.json.

It runs the real pipeline (ingest of the bundled corpus, retrieval, answers, the offline judge) and fails when a
metric falls below its threshold — a regression gate, not a speed test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder, embedder_options
from evals.report import compare_runs, write_run
from evals.runner import run_suite
from tests.conftest import CORPUS_DIR, REPO_ROOT

pytestmark = pytest.mark.slow
THRESHOLDS = json.loads((REPO_ROOT / "evals" / "thresholds.json").read_text())


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory):
    """The suite as it ships: default settings, so the embedding backend is the default one (onnx-int8), not the
    torch reference the other tests share."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("eval-data"), corpus_dir=CORPUS_DIR)
    embedder = Embedder(settings.embedding_model_path, settings.embedding_batch_size, **embedder_options(settings))
    run = run_suite(settings, "corpus", with_baseline=False, embedder=embedder, progress=False)
    out = tmp_path_factory.mktemp("run")
    write_run(run, out)
    return run, out


def test_quick_suite_meets_thresholds(quick_run) -> None:
    run, _ = quick_run
    summary = run.systems[0].summary
    below = {k: round(summary.get(k, 0.0), 3) for k, v in THRESHOLDS["min"].items() if summary.get(k, 0.0) < v}
    assert not below, f"below threshold: {below} (thresholds {THRESHOLDS['min']})"
    assert run.judge_accuracy is not None
    assert run.judge_accuracy["accuracy"] >= THRESHOLDS["judge_accuracy_min"]


def test_run_directory_has_results_report_and_plots(quick_run) -> None:
    run, out = quick_run
    data = json.loads((out / "results.json").read_text())
    results = data["systems"][0]["results"]
    assert len(results) == len(run.systems[0].results) >= 50
    assert {"retrieved", "answer", "citations", "scores"} <= set(results[0])
    report = (out / "report.md").read_text()
    assert "recall@5" in report and "Worst 10 questions" in report and run.judge in report
    for png in ("recall_at_k.png", "per_type.png", "latency.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_flags_a_regression(quick_run, tmp_path: Path) -> None:
    _, out = quick_run
    worse = tmp_path / "worse"
    worse.mkdir()
    data = json.loads((out / "results.json").read_text())
    data["systems"][0]["summary"]["recall@5"] -= 0.10
    (worse / "results.json").write_text(json.dumps(data))
    table, regressions = compare_runs(out, worse, tolerance=0.02)
    assert "recall@5" in table
    assert any(r.startswith("recall@5 dropped") for r in regressions)
    _, none = compare_runs(out, out)
    assert none == []
