"""evals.load_test against the real web UI: simultaneous conversations, each answered and kept apart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import assistant.service
from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.store import ChunkStore
from evals.load_test import ChatAPI, _transcript_ok, conversations, run_load
from ingest.pipeline import build_ingest_pipeline
from tests.chroma_server import ChromaServer, free_port

# About the four small-corpus articles.
QUESTIONS = [
    "What did the US and Ukraine agree in Jeddah?",
    "What did Putin propose on 11 May 2025?",
    "Why did Russia suspend its participation in the Black Sea Grain Initiative?",
    "What did Blinken say about the grain deal?",
    "Where were the first peace talks held in 2022?",
    "What did the Istanbul Communiqué propose?",
]


def test_mix_up_detection() -> None:
    plan = conversations(2, ["Q one?", "Q two?"])
    assert plan == [["Q one?", "What happened after that?"], ["Q two?", "And who took part in it?"]]
    mine = [{"role": "user", "content": "Q one?"}, {"role": "assistant", "content": "A [1]"}]
    assert _transcript_ok(mine, ["Q one?"])
    assert not _transcript_ok([{"role": "user", "content": "Q two?"}, *mine[1:]], ["Q one?"])
    assert not _transcript_ok([*mine, {"role": "user", "content": "Q two?"}], ["Q one?"])
    assert _transcript_ok([{"role": "user", "content": "Who&#x27;s <b>there</b>?"}], ["Who's there?"])
    assert _transcript_ok([{"role": "user", "content": "The so\\-called \\[formula\\]?"}], ["The so-called [formula]?"])


@pytest.mark.slow
def test_simultaneous_conversations_through_the_ui_on_a_chroma_server(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    embedder: Embedder,
    small_corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Six users at once through the real UI in server mode: all answered, none mixed up. Then the Chroma server
    stops: the UI says so in the chat; it comes back: the same session is answered again."""
    server = ChromaServer(tmp_path / "chroma").start()
    app = None
    try:
        settings = make_settings(llm_base_url=None, llm_model=None, chroma_url=server.url)
        store = ChunkStore(settings, embedder)
        assert build_ingest_pipeline(settings, store, show_progress=False).run([small_corpus]).ok
        monkeypatch.setattr(assistant.service, "Embedder", lambda *args, **kwargs: embedder)
        from assistant.ui.app import launch

        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        app = launch(settings, port=port, prevent_thread_lock=True, quiet=True)
        report = run_load(url, users=6, questions=QUESTIONS)
        assert report.ok, report.summary()
        assert len(report.results) == 12 and all(r.answer for r in report.results)
        assert report.latency()["p95_s"] > 0 and len(report.replay_seconds) == 12

        user = ChatAPI(url)
        server.stop()
        _, answer = user.ask(QUESTIONS[0])
        assert answer.startswith(f"⚠ Cannot reach the Chroma server at {server.url}"), answer
        server.start()
        _, answer = user.ask(QUESTIONS[0])
        assert answer and not answer.startswith("⚠"), answer
    finally:
        if app is not None:
            app.close()
        server.stop()
