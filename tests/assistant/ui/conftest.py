"""Fixtures of the web UI tests: a small real corpus with a hostile article in it, served on loopback."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.service import Assistant, build_assistant
from ingest.pipeline import build_ingest_pipeline
from tests.conftest import CORPUS_DIR, SMALL_CORPUS_FILES

# An article whose metadata and text carry script and markup payloads: the UI must show them as text. Each payload
# would set window.__pwned if it ever ran.
PAYLOAD_ARTICLE = (
    "---\n"
    'title: "Ceasefire monitoring notes <img src=x onerror=\\"window.__pwned=\'title\'\\">"\n'
    "publisher: \"Payload Desk <script>window.__pwned='publisher'</script>\"\n"
    "published: 2025-06-01\n"
    "source: \"javascript:window.__pwned='source'\"\n"
    'license: "test fixture"\n'
    "---\n"
    "The ceasefire monitoring mission on the Dnipro river reported violations "
    "<script>window.__pwned='script'</script> near Kherson in June 2025.\n\n"
    "Observers said the monitoring mission would file a weekly report <img src=x onerror=\"window.__pwned='img'\"> "
    "to both delegations, [with a link](javascript:window.__pwned='link') and "
    "![an image](http://evil.example/pixel.png).\n"
)
PAYLOAD_NAME = "90_payload_monitoring_notes.md"
PAYLOAD_QUESTION = "What did the ceasefire monitoring mission on the Dnipro river report?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def ui_assistant(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Assistant:
    """An assistant over the four small-corpus articles plus the payload article (extractive backend)."""
    root = tmp_path_factory.mktemp("ui")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in SMALL_CORPUS_FILES:
        shutil.copy(CORPUS_DIR / name, corpus / name)
    (corpus / PAYLOAD_NAME).write_text(PAYLOAD_ARTICLE, encoding="utf-8")
    settings = Settings(
        data_dir=root / "data", corpus_dir=corpus, llm_base_url=None, llm_model=None, max_upload_bytes=200_000
    )
    assistant = build_assistant(settings, embedder=embedder)
    report = build_ingest_pipeline(settings, assistant.store, show_progress=False).run([corpus])
    assert report.ok, report.errors
    return assistant


@pytest.fixture(scope="module")
def ui_url(ui_assistant: Assistant) -> Iterator[str]:
    """The app served on a free loopback port, the way ``peacetalks chat`` serves it."""
    from assistant.ui.app import build_app, serve

    app = build_app(ui_assistant)
    port = free_port()
    serve(app, ui_assistant.settings, port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()


def artifacts_dir() -> Path:
    folder = Path(__file__).resolve().parents[3] / "test-artifacts" / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
