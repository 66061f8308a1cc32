"""Tests for the ``peacetalks`` command line, run in-process with typer's CliRunner over temporary data dirs.

The CLI builds an ``Embedder`` in every command that opens the store (about 9 s to load on this machine); the
``shared_model`` fixture hands it the session's already-loaded model instead, checking it is asked for the
configured model, so each invocation costs only its real work.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import assistant.embedding
import assistant.service
from assistant.cli import app
from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.store import ChunkStore
from ingest.pipeline import build_ingest_pipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
PUTIN = "What did Putin propose on 11 May 2025?"
JEDDAH = "What did the US and Ukraine agree in Jeddah?"


@pytest.fixture
def shared_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> list[tuple[Any, ...]]:
    """Every ``Embedder(...)`` the CLI builds is the session's model; returns the arguments it was built with."""
    calls: list[tuple[Any, ...]] = []

    def factory(model_path: Path | None = None, batch_size: int = 32, **options: Any) -> Embedder:
        calls.append((model_path, batch_size))
        return embedder

    monkeypatch.setattr(assistant.embedding, "Embedder", factory)
    monkeypatch.setattr(assistant.service, "Embedder", factory)
    return calls


@pytest.fixture(scope="module")
def ingested_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A data dir holding the four small-corpus articles (ingested once for the module's ``ask`` tests)."""
    from tests.conftest import CORPUS_DIR, SMALL_CORPUS_FILES

    data_dir = tmp_path_factory.mktemp("cli-store")
    settings = Settings(data_dir=data_dir)
    store = ChunkStore(settings, embedder)
    report = build_ingest_pipeline(settings, store, show_progress=False).run(
        [CORPUS_DIR / name for name in SMALL_CORPUS_FILES]
    )
    assert report.ok and len(report.added) == 4
    return data_dir


def run(args: list[str], data_dir: Path, **env: str) -> Any:
    result = CliRunner().invoke(app, args, env={"PEACETALKS_DATA_DIR": str(data_dir), **env})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_ask_before_ingest_says_to_ingest(tmp_path: Path) -> None:
    result = run(["ask", PUTIN], tmp_path / "data")
    assert result.exit_code == 1
    assert "run `peacetalks ingest` first" in result.output
    assert result.stdout == ""  # the error goes to stderr
    assert not (tmp_path / "data").exists()  # asking creates nothing


def test_articles_before_ingest_says_to_ingest(tmp_path: Path) -> None:
    result = run(["articles"], tmp_path / "data")
    assert result.exit_code == 1
    assert "run `peacetalks ingest` first" in result.output


def test_ask_needs_exactly_one_of_question_and_batch(tmp_path: Path) -> None:
    batch = tmp_path / "q.txt"
    batch.write_text(PUTIN + "\n", encoding="utf-8")
    both = run(["ask", PUTIN, "--batch", str(batch)], tmp_path / "data")
    assert both.exit_code == 2
    assert "give a QUESTION or --batch FILE" in both.output
    neither = run(["ask"], tmp_path / "data")
    assert neither.exit_code == 2


@pytest.mark.slow
def test_ingest_reingest_list_remove_reset(
    tmp_path: Path, small_corpus: Path, shared_model: list[tuple[Any, ...]]
) -> None:
    data = tmp_path / "data"
    first = run(["ingest", str(small_corpus), "--quiet"], data)
    assert first.exit_code == 0, first.output
    assert "articles: 4 added, 0 updated, 0 deleted, 0 unchanged, 0 failed" in first.stdout
    assert "in 4 articles" in first.stdout
    assert shared_model and shared_model[0] == (None, 32)  # the packaged model, the default batch size

    again = run(["ingest", str(small_corpus), "--quiet"], data)
    assert again.exit_code == 0, again.output
    assert "4 unchanged" in again.stdout
    assert "0 added" in again.stdout
    assert "0 embedded" in again.stdout

    listed = run(["articles"], data)
    assert listed.exit_code == 0
    lines = listed.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [f"corpus/{name}" for name in sorted(os.listdir(small_corpus))]
    jeddah = next(line for line in lines if "19_us_ukraine_jeddah" in line)
    assert jeddah.split("\t")[1] == "2025-03-11"
    assert jeddah.split("\t")[2].endswith(" chunks")

    gone = "corpus/10_us_state_blinken_bsgi_suspension_2023-07-17.md"
    removed = run(["remove", gone], data)
    assert removed.exit_code == 0, removed.output
    assert removed.stdout.startswith(f"removed {gone} (")
    after = run(["articles"], data).stdout.strip().splitlines()
    assert len(after) == 3
    assert not any(line.startswith(gone) for line in after)

    unknown = run(["remove", "corpus/nope.md"], data)
    assert unknown.exit_code == 1
    assert "no ingested article" in unknown.output and "corpus/nope.md" in unknown.output

    reset = run(["reset", "--yes"], data)
    assert reset.exit_code == 0
    assert not data.exists()
    assert "run `peacetalks ingest` first" in run(["ask", PUTIN], data).output


@pytest.mark.slow
def test_ingest_with_a_broken_file_reports_it_and_ingests_the_rest(
    tmp_path: Path, shared_model: list[tuple[Any, ...]]
) -> None:
    from tests.conftest import CORPUS_DIR

    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in [
        "19_us_ukraine_jeddah_joint_statement_2025-03-11.md",
        "22_putin_press_statement_2025-05-11_kremlin.md",
    ]:
        (folder / name).write_bytes((CORPUS_DIR / name).read_bytes())
    broken = folder / "broken.md"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" * 20)
    data = tmp_path / "data"

    result = run(["ingest", str(folder), "-q"], data)
    assert result.exit_code == 1
    assert f"failed: {broken}: binary file, not text" in result.stderr
    assert "2 added" in result.stdout and "1 failed" in result.stdout
    listed = run(["articles"], data).stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in listed] == [
        "corpus/19_us_ukraine_jeddah_joint_statement_2025-03-11.md",
        "corpus/22_putin_press_statement_2025-05-11_kremlin.md",
    ]


@pytest.mark.slow
def test_ask_json(ingested_dir: Path, shared_model: list[tuple[Any, ...]]) -> None:
    result = run(["ask", "--json", PUTIN], ingested_dir)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["question"] == PUTIN
    assert data["abstained"] is False
    assert data["backend"] == "extractive"
    assert "Istanbul" in data["text"]
    assert data["citations"]
    assert data["citations"][0]["article_id"] == "corpus/22_putin_press_statement_2025-05-11_kremlin.md"
    assert len(data["evidence"]) == 5


@pytest.mark.slow
def test_ask_prints_the_answer_and_its_sources(ingested_dir: Path, shared_model: list[tuple[Any, ...]]) -> None:
    result = run(["ask", PUTIN, "--k", "3"], ingested_dir)
    assert result.exit_code == 0, result.output
    answer_text, _, sources = result.stdout.partition("\n\nSources:\n")
    assert "Istanbul" in answer_text and "[1]" in answer_text
    assert "  [1] " in sources
    assert "corpus/22_putin_press_statement_2025-05-11_kremlin.md (chars " in sources
    assert "[extractive · retrieval" in sources


@pytest.mark.slow
def test_ask_batch_plain_and_jsonl(tmp_path: Path, ingested_dir: Path, shared_model: list[tuple[Any, ...]]) -> None:
    batch = tmp_path / "questions.txt"
    batch.write_text(f"{PUTIN}\n\n{json.dumps({'question': JEDDAH, 'id': 7})}\n", encoding="utf-8")
    result = run(["ask", "--batch", str(batch)], ingested_dir)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert (first["question"], second["question"]) == (PUTIN, JEDDAH)
    assert first["citations"] and second["citations"]
    assert any("jeddah" in c["article_id"] for c in second["citations"])


@pytest.mark.slow
def test_ask_batch_reports_bad_lines(tmp_path: Path, ingested_dir: Path, shared_model: list[tuple[Any, ...]]) -> None:
    batch = tmp_path / "questions.jsonl"
    batch.write_text('{"q": "no question field"}\n{"question": "   "}\n', encoding="utf-8")
    result = run(["ask", "--batch", str(batch)], ingested_dir)
    assert result.exit_code == 1
    first, second = (json.loads(line) for line in result.stdout.strip().splitlines())
    assert first == {"line": 1, "error": "not a JSON object with a 'question' field"}
    assert second["line"] == 2 and "empty" in second["error"]
    missing = run(["ask", "--batch", str(tmp_path / "nope.txt")], ingested_dir)
    assert missing.exit_code == 1
    assert "no such file" in missing.output


@pytest.mark.slow
def test_ask_empty_question(ingested_dir: Path, shared_model: list[tuple[Any, ...]]) -> None:
    result = run(["ask", ""], ingested_dir)
    assert result.exit_code == 1
    assert "error: The question is empty" in result.stderr
    assert "Traceback" not in result.output


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_ask_with_an_unreachable_llm_falls_back(ingested_dir: Path, shared_model: list[tuple[Any, ...]]) -> None:
    llm_env = {
        "PEACETALKS_LLM_BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1",
        "PEACETALKS_LLM_MODEL": "offline-model",
        "PEACETALKS_LLM_MAX_RETRIES": "0",
        "PEACETALKS_LLM_TIMEOUT_S": "5",
    }
    data = json.loads(run(["ask", "--json", PUTIN], ingested_dir, **llm_env).stdout)
    assert data["backend"] == "extractive"
    assert any("LLM backend failed" in n for n in data["notices"])
    assert "Istanbul" in data["text"]


@pytest.mark.slow
def test_ask_prints_the_fallback_answer_text(ingested_dir: Path, shared_model: list[tuple[Any, ...]]) -> None:
    llm_env = {
        "PEACETALKS_LLM_BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1",
        "PEACETALKS_LLM_MODEL": "offline-model",
        "PEACETALKS_LLM_MAX_RETRIES": "0",
    }
    result = run(["ask", PUTIN], ingested_dir, **llm_env)
    assert result.exit_code == 0
    assert "note: The LLM backend failed" in result.stdout
    answer_text = result.stdout.partition("note:")[0]
    assert "Istanbul" in answer_text


def test_python_m_assistant_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert result.returncode == 0, result.stderr
    for command in ["ingest", "ask", "chat", "articles", "remove", "reset"]:
        assert f" {command} " in result.stdout
    assert "checkable citations" in result.stdout


@pytest.fixture(autouse=True)
def _no_llm_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A developer's PEACETALKS_LLM_* must not turn these tests into network calls."""
    for key in list(os.environ):
        if key.startswith("PEACETALKS_"):
            monkeypatch.delenv(key)
    yield
