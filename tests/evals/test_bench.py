"""The benchmark runs end to end in its quick configuration and writes every figure it promises (no timing asserts:
speed is a benchmark figure, never a test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from evals import bench
from evals.bench import _assistant_text, goals, parse_args, render
from tests.conftest import REPO_ROOT


def test_quick_defaults_are_small() -> None:
    args = parse_args(["--quick"])
    assert args.chunks == [300] and args.ingest_chunks <= 200 and args.queries <= 10
    full = parse_args([])
    assert full.chunks == [1_000, 10_000, 100_000] and full.ingest_chunks == 10_000 and "torch" in full.backends


def test_first_token_is_read_from_any_chat_shape() -> None:
    placeholder = ([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "…"}], "", "")
    streamed = ([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "The talks [1]"}], "", "")
    rich = {"chat": [{"role": "assistant", "content": [{"type": "text", "text": "Jeddah"}]}]}
    assert _assistant_text(placeholder) == ""
    assert _assistant_text(streamed) == "The talks [1]"
    assert _assistant_text(rich) == "Jeddah"


def test_goals_and_table_from_figures() -> None:
    results = {
        "meta": {"started": "now", "cpus": 2, "physical_cores": 2, "load_before": [0.1, 0, 0],
                 "load_after": [0.2, 0, 0], "configured_backend": "onnx-int8", "notes": ["n"]},
        "compute": {"torch_minilm_shape_gflops": 100.0, "numpy_1024_gflops": 90.0},
        "ingest": [
            {"corpus": "synthetic-10", "system": "langchain-plain", "backend": "torch", "chunks": 10,
             "mean_tokens": 150.0, "chunks_per_s": 10.0, "embed_chunks_per_s": None,
             "compute_bound_chunks_per_s": 28.0, "of_compute_bound": 0.36, "vs_baseline": 1.0,
             "peak_rss_mb": 900.0, "embeddings": "x"},
            {"corpus": "synthetic-10", "system": "peacetalks", "backend": "onnx-int8", "chunks": 10,
             "mean_tokens": 150.0, "chunks_per_s": 21.0, "embed_chunks_per_s": 25.0,
             "compute_bound_chunks_per_s": 28.0, "of_compute_bound": 0.9, "vs_baseline": 2.1,
             "peak_rss_mb": 500.0, "resync_unchanged_s": 0.1},
        ],
        "retrieval": [{"chunks": 100_000, "build_s": 9.0, "ask_p50_ms": 120.0, "ask_p95_ms": 200.0,
                       **{f"{m}_{p}_ms": 10.0 for m in ("dense", "keyword", "hybrid") for p in ("p50", "p95")}}],
        "app": {"backend": "onnx-int8", "startup_to_first_answer_s": 9.0, "ready_s": 8.0,
                "ui_first_token_p50_ms": 200.0, "ui_answer_p50_ms": 210.0, "app_rss_mb": 700.0,
                "app_peak_rss_mb": 800.0, "ingest_cli_s": 20.0, "ingest_cli_peak_rss_mb": 600.0},
    }  # fmt: skip
    met = {g["goal"]: g["met"] for g in goals(results, "onnx-int8")}
    assert met == {
        "ingest_vs_baseline": True,
        "ingest_of_compute_bound": True,
        "retrieval_hybrid_p95_ms_at_100k": True,
        "ask_p50_ms_at_10k": True,
        "startup_to_first_answer_s": True,
        "app_peak_rss_mb": True,
    }
    results["goals"] = goals(results, "onnx-int8")
    results["meta"]["cpu"] = {"name": "AMD EPYC (family 25, model 1)", "extensions": ["avx2", "fma"]}
    table = render(results)
    assert "INGEST" in table and "RETRIEVAL" in table and "APP" in table and "GOALS" in table
    assert "cpu: AMD EPYC (family 25, model 1); avx2, fma" in table


def test_cpu_model_names_the_processor_and_its_vector_extensions() -> None:
    """The int8/float32 ratio depends on the processor, so the record says which one measured it."""
    cpuinfo = (
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n"
        "flags\t\t: fpu sse2 avx fma avx2 avx512f avx512_vnni\n\nprocessor\t: 1\nmodel name\t: other\n"
    )
    assert bench.cpu_model(cpuinfo) == {
        "name": "AMD EPYC (family 25, model 1)",
        "extensions": ["avx2", "fma", "avx512f", "avx512_vnni"],
    }
    arm = "processor\t: 0\nFeatures\t: fp asimd i8mm\nCPU implementer\t: 0x41\n"
    assert bench.cpu_model(arm)["extensions"] == ["asimd", "i8mm"]
    here = bench.cpu_model()
    assert here["name"] and isinstance(here["extensions"], list)


@pytest.mark.slow
def test_quick_benchmark_writes_every_figure(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    cache = request.config.cache
    data_dir = Path(cache.mkdir("peacetalks-bench-data")) if cache is not None else tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEACETALKS_")}
    command = [sys.executable, "-m", "evals.bench", "--quick", "--out", str(tmp_path), "--data-dir", str(data_dir)]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "INGEST" in done.stdout and "GOALS" in done.stdout
    results = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))

    assert results["compute"]["torch_minilm_shape_gflops"] > 0
    assert results["meta"]["cpu"]["name"]
    systems = {r["system"] for r in results["ingest"]}
    assert systems == {"peacetalks", "langchain-plain"}
    for row in results["ingest"]:
        assert row["chunks"] > 0 and row["chunks_per_s"] > 0 and row["cpu_s"] > 0 and row["peak_rss_mb"] > 0
        assert row["compute_bound_chunks_per_s"] > 0 and row["of_compute_bound"] > 0 and row["vs_baseline"] > 0
        assert 10 < row["mean_tokens"] <= 256
    ours = [r for r in results["ingest"] if r["system"] == "peacetalks"]
    assert all(r["embed_chunks_per_s"] > 0 and r["resync_embedded"] == 0 for r in ours)

    (retrieval,) = results["retrieval"]
    assert retrieval["chunks"] == 300
    for mode in ("dense", "keyword", "hybrid"):
        assert 0 < retrieval[f"{mode}_p50_ms"] <= retrieval[f"{mode}_p95_ms"]
    assert retrieval["ask_p50_ms"] > 0 and retrieval["add_article_s"] > 0

    app = results["app"]
    assert "error" not in app, app.get("error")
    assert app["startup_to_first_answer_s"] >= app["ready_s"] > 0
    assert app["ui_first_token_p50_ms"] > 0 and app["app_peak_rss_mb"] > 0 and app["ingest_cli_peak_rss_mb"] > 0
    assert app["first_answer"]
    assert {g["goal"] for g in results["goals"]} >= {"ingest_vs_baseline", "startup_to_first_answer_s"}


def test_repeated_ingest_runs_alternate_and_report_medians(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, embedder: Embedder
) -> None:
    """--repeat N: every system runs N times in alternating order; rows report the median run and the median of
    the per-repeat ratios (the runs are faked: this is about the bookkeeping)."""
    calls: list[str] = []
    plain_s, ours_s = iter([10.0, 12.0, 11.0]), iter([5.0, 4.0, 6.0])  # chunks/s: plain 10, 8.3, 9.1; ours 20, 25, 16.7

    def fake_bounded(kind: str, spec: dict, work: Path, args: object, defaults: object, gflop: float) -> tuple:
        calls.append(kind)
        seconds = next(plain_s if kind == "baseline" else ours_s)
        result = {
            "chunks": 100,
            "seconds": seconds,
            "cpu_s": 2 * seconds,
            "embed_seconds": seconds / 2,
            "peak_rss_mb": 1.0,
        }
        return {**result, "compute_bound_chunks_per_s": 30.0, "embeddings": "x"}, 30.0

    monkeypatch.setattr(bench, "_bounded", fake_bounded)
    args = parse_args(["--quick", "--repeat", "3", "--ingest-chunks", "30", "--backends", "onnx-int8"])
    rows = bench.ingest_section(args, Settings(), embedder, tmp_path)
    assert calls == ["baseline", "ours", "ours", "baseline", "baseline", "ours"]
    plain, ours = rows
    assert plain["runs_chunks_per_s"] == pytest.approx([10.0, 100 / 12, 100 / 11])
    assert plain["chunks_per_s"] == pytest.approx(100 / 11)  # the median run
    assert ours["chunks_per_s"] == pytest.approx(20.0)
    assert ours["vs_baseline_runs"] == pytest.approx([2.0, 3.0, (100 / 6) / (100 / 11)])
    assert ours["vs_baseline"] == pytest.approx(2.0)  # median of 2.0, 3.0, 1.83
    meta = {"started": "now", "cpus": 2, "physical_cores": 2, "load_before": [0.1, 0, 0], "load_after": [0.2, 0, 0],
            "configured_backend": "onnx-int8", "notes": []}  # fmt: skip
    assert "median of 3 interleaved runs" in render({"meta": meta, "ingest": rows})
