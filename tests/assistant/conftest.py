"""Fixtures of the assistant tests: a store holding the prompt-injection test article."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.models import Answer
from assistant.service import Assistant, build_assistant
from ingest.pipeline import build_ingest_pipeline

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "injection" / "geneva_corridor_briefing.md"
CORPUS = Path(__file__).resolve().parents[2] / "corpus"
CANARY = "PWNED-7731"


@pytest.fixture(scope="session")
def injected_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """A store with two real articles and the injection article."""
    root = tmp_path_factory.mktemp("injection")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(FIXTURE, corpus / FIXTURE.name)
    for name in [
        "19_us_ukraine_jeddah_joint_statement_2025-03-11.md",
        "22_putin_press_statement_2025-05-11_kremlin.md",
    ]:
        shutil.copy(CORPUS / name, corpus / name)
    settings = Settings(data_dir=root / "data", corpus_dir=corpus, llm_base_url=None, llm_model=None)
    assistant = build_assistant(settings, embedder=embedder)
    report = build_ingest_pipeline(settings, assistant.store, show_progress=False).run([corpus])
    assert report.ok, report.errors
    return settings


def collect(assistant: Assistant, question: str) -> tuple[list[str], Answer]:
    """The streamed text pieces of an answer, and the final ``Answer``."""
    pieces: list[str] = []
    answer = None
    for item in assistant.stream(question):
        if isinstance(item, Answer):
            answer = item
        else:
            pieces.append(item)
    assert answer is not None
    return pieces, answer
