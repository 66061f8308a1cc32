"""The store in both modes: embedded files and a real Chroma server (``chroma run`` on loopback).

Answers with citations on either backend; two replicas sharing one server see one corpus (dense and keyword);
the server going away gives a clear ``StoreError`` (also in the CLI) and the same objects recover when it returns;
questions keep being answered while an ingest runs; stores built with another model or by another version are
explained, never a dimension error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings
from typer.testing import CliRunner

import assistant.embedding
import assistant.service
from assistant.cli import app
from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.models import Answer
from assistant.retrieval import Retriever
from assistant.service import build_assistant
from assistant.store import (
    HNSW_CONFIGURATION,
    SCHEMA_VERSION,
    ChunkStore,
    NotIngestedError,
    StoreError,
    StoreUnavailableError,
)
from ingest.pipeline import build_ingest_pipeline
from tests.chroma_server import ChromaServer, free_port
from tests.postgres_server import PostgresServer

pytestmark = pytest.mark.slow

JEDDAH_FILE = "19_us_ukraine_jeddah_joint_statement_2025-03-11.md"
JEDDAH_ID = f"corpus/{JEDDAH_FILE}"
JEDDAH = "What did the US and Ukraine agree in Jeddah?"
# Words only the Jeddah statement holds among the small corpus (BM25 must find it by them).
JEDDAH_KEYWORDS = "Jeddah Crown Prince Mohammed bin Salman"


def no_llm(factory: Callable[..., Settings], **overrides: Any) -> Settings:
    return factory(llm_base_url=None, llm_model=None, **overrides)


def test_hnsw_configuration_and_model_recorded(backend_settings: Callable[..., Settings], embedder: Embedder) -> None:
    store = ChunkStore(backend_settings(), embedder)
    hnsw = store.collection.configuration_json["hnsw"]
    assert {key: hnsw[key] for key in HNSW_CONFIGURATION} == HNSW_CONFIGURATION
    meta = store.collection.metadata
    assert meta["embedding_model"] == embedder.model_id and meta["embedding_dim"] == embedder.dimension
    assert meta["schema_version"] == SCHEMA_VERSION


def test_opening_an_older_store_raises_its_hnsw_ef_search(
    backend_settings: Callable[..., Settings], embedder: Embedder
) -> None:
    """Stores created before ef_search went to 256 searched with 128, which at 100k chunks missed all true neighbours
    of some questions; ef_search is the HNSW setting Chroma can change later, so opening a store raises it."""
    settings = backend_settings()
    old = ChunkStore(settings, embedder)
    old.collection.modify(configuration={"hnsw": {"ef_search": 128}})
    assert ChunkStore(settings, embedder).collection.configuration_json["hnsw"]["ef_search"] == 256
    assert HNSW_CONFIGURATION["ef_search"] == 256


def test_ask_with_citations(backend_settings: Callable[..., Settings], embedder: Embedder, small_corpus: Path) -> None:
    settings = no_llm(backend_settings)
    bot = build_assistant(settings, embedder=embedder)
    with pytest.raises(NotIngestedError):
        bot.ask(JEDDAH)
    report = build_ingest_pipeline(settings, bot.store, show_progress=False).run([small_corpus])
    assert report.ok and len(report.added) == 4
    answer = bot.ask(JEDDAH)
    assert not answer.abstained and answer.citations
    assert answer.citations[0].article_id == JEDDAH_ID
    assert all(c.quote in c.passage for c in answer.citations)
    top_keyword_hit = bot.store.keyword.search(JEDDAH_KEYWORDS, 1)[0][0]
    assert bot.store.get_chunks([top_keyword_hit])[0].article_id == JEDDAH_ID


def test_two_replicas_share_one_corpus(
    chroma_server: ChromaServer, make_settings: Callable[..., Settings], embedder: Embedder, small_corpus: Path
) -> None:
    """Replica A ingests; replica B (its own data dir, no shared disk, the same records database) sees every change
    in dense and keyword retrieval, because its BM25 cache follows the corpus version kept in Chroma. A replica
    with records of its own is refused (its article list and ingests would drift)."""
    shared = {"chroma_url": chroma_server.url, "collection": "replicas", "keyword_refresh_s": 0.0}
    records = f"sqlite:///{small_corpus.parent / 'shared-records.sqlite'}"
    a_settings = no_llm(make_settings, data_dir=small_corpus.parent / "replica-a", records_url=records, **shared)
    b_settings = no_llm(make_settings, data_dir=small_corpus.parent / "replica-b", records_url=records, **shared)
    a = build_assistant(a_settings, embedder=embedder)
    b = build_assistant(b_settings, embedder=embedder)
    ingest_a = build_ingest_pipeline(a_settings, a.store, show_progress=False)
    jeddah = small_corpus / JEDDAH_FILE
    parked = jeddah.rename(small_corpus.parent / JEDDAH_FILE)

    assert ingest_a.run([small_corpus]).ok
    before = b.store.corpus_version()
    assert b.store.count() == a.store.count() > 0
    assert JEDDAH_ID not in {e.chunk.article_id for e in b.ask(JEDDAH).evidence}

    parked.rename(jeddah)
    assert ingest_a.run([small_corpus]).added == [JEDDAH_ID]
    assert b.store.corpus_version() != before
    dense_only = Retriever(b.store, embedder, mode="dense").run(JEDDAH, k=3)
    assert dense_only[0].chunk.article_id == JEDDAH_ID
    keyword_hits = b.store.keyword.search(JEDDAH_KEYWORDS, 3)
    assert b.store.get_chunks([keyword_hits[0][0]])[0].article_id == JEDDAH_ID
    assert b.store.keyword.corpus_version == b.store.corpus_version()
    assert b.ask(JEDDAH).citations[0].article_id == JEDDAH_ID

    jeddah.unlink()
    assert ingest_a.run([small_corpus]).deleted == [JEDDAH_ID]
    assert JEDDAH_ID not in {
        c.article_id for c in b.store.get_chunks([i for i, _ in b.store.keyword.search(JEDDAH_KEYWORDS, 20)])
    }
    assert set(b.store.keyword._current().ids) == set(a.store.all_chunk_ids())  # type: ignore[union-attr]

    again = build_ingest_pipeline(b_settings, b.store, show_progress=False).run([small_corpus])
    assert again.ok and again.chunks_embedded == 0 and len(again.unchanged) == 3
    assert [r.article_id for r in b.store.list_articles()] == [r.article_id for r in a.store.list_articles()]
    own_records = no_llm(make_settings, data_dir=small_corpus.parent / "replica-c", **shared)
    with pytest.raises(StoreError, match="another records database"):
        ChunkStore(own_records, embedder)

    env = {"PEACETALKS_CHROMA_URL": chroma_server.url, "PEACETALKS_COLLECTION": "replicas"}
    result = CliRunner().invoke(
        app, ["reset", "--yes", "--data-dir", str(a_settings.data_dir)], env=env | {"PEACETALKS_RECORDS_URL": records}
    )
    assert result.exit_code == 0, result.output
    assert "collection 'replicas' on" in result.output and not a_settings.data_dir.exists()
    fresh = ChunkStore(b_settings, embedder)  # the same server and records, now empty
    assert fresh.count() == 0 and fresh.list_articles() == [] and fresh.corpus_version() == "initial"


@pytest.fixture
def shared_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    """The CLI's ``Embedder(...)`` is the session's already-loaded model."""
    monkeypatch.setattr(assistant.embedding, "Embedder", lambda *args, **kwargs: embedder)
    monkeypatch.setattr(assistant.service, "Embedder", lambda *args, **kwargs: embedder)


def test_server_down_then_back(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    embedder: Embedder,
    small_corpus: Path,
    shared_model: None,
) -> None:
    server = ChromaServer(tmp_path / "own-server").start()
    try:
        settings = no_llm(make_settings, chroma_url=server.url)
        bot = build_assistant(settings, embedder=embedder)
        pipeline = build_ingest_pipeline(settings, bot.store, show_progress=False)
        assert pipeline.run([small_corpus / JEDDAH_FILE]).ok
        assert bot.ask(JEDDAH).citations

        server.stop()
        down = rf"Cannot reach the Chroma server at {server.url} .*is it running\?"
        with pytest.raises(StoreUnavailableError, match=down):
            bot.ask(JEDDAH)
        with pytest.raises(StoreUnavailableError, match=down):
            bot.store.count()
        (small_corpus / JEDDAH_FILE).write_text("---\ntitle: Changed\n---\nA changed text.\n", encoding="utf-8")
        with pytest.raises(StoreUnavailableError, match=down):  # ingest stops at once, not article by article
            pipeline.run([small_corpus / JEDDAH_FILE])
        with pytest.raises(StoreUnavailableError, match=down):  # a fresh process cannot even open the store
            ChunkStore(settings, embedder)
        env = {"PEACETALKS_CHROMA_URL": server.url, "PEACETALKS_DATA_DIR": str(settings.data_dir)}
        result = CliRunner().invoke(app, ["ask", JEDDAH], env=env)
        assert result.exit_code == 1
        assert f"error: Cannot reach the Chroma server at {server.url}" in result.output
        assert "Traceback" not in result.output

        server.start()  # same port, same data: the very same objects work again
        assert bot.ask(JEDDAH).citations
        healed = pipeline.run([small_corpus / JEDDAH_FILE])
        assert healed.ok and healed.updated == [JEDDAH_ID]
    finally:
        server.stop()


def test_unreachable_or_malformed_server_url(make_settings: Callable[..., Settings], embedder: Embedder) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailableError, match=f"Cannot reach the Chroma server at {nobody}"):
        ChunkStore(make_settings(chroma_url=nobody), embedder)
    with pytest.raises(StoreError, match="must look like http://HOST:PORT"):
        ChunkStore(make_settings(chroma_url="chroma-host:8000"), embedder)


def test_questions_keep_being_answered_during_ingest(
    backend_settings: Callable[..., Settings], embedder: Embedder, small_corpus: Path
) -> None:
    """One thread ingests (adds two articles, then edits and removes), another keeps asking through its own store
    (as another process or replica would): every question gets an answer, from the old or the new state."""
    settings = no_llm(backend_settings, keyword_refresh_s=0.0)
    writer = ChunkStore(settings, embedder)
    pipeline = build_ingest_pipeline(settings, writer, show_progress=False)
    files = sorted(small_corpus.iterdir())
    assert pipeline.run(files[:2], prune=False).ok
    reader = build_assistant(settings, embedder=embedder)
    failures: list[BaseException] = []

    def ingest() -> None:
        try:
            assert pipeline.run([small_corpus]).ok
            text = files[0].read_text(encoding="utf-8")
            files[0].write_text(text.replace("the", "teh", 20), encoding="utf-8")
            files[1].unlink()
            assert pipeline.run([small_corpus]).ok
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=ingest)
    thread.start()
    answers: list[Answer] = []
    questions = [JEDDAH, "What did Putin propose on 11 May 2025?", "Why was the Black Sea Grain Initiative suspended?"]
    while thread.is_alive() or len(answers) < 3:
        answers.append(reader.ask(questions[len(answers) % len(questions)]))
    thread.join()
    assert not failures, failures
    assert all(isinstance(a, Answer) and a.evidence for a in answers)
    assert reader.ask(JEDDAH).citations[0].article_id == JEDDAH_ID  # and afterwards, the new state
    assert set(reader.store.keyword.chunk_ids()) == set(writer.all_chunk_ids())


# ---- stores from another model or another version -------------------------------------------------------------


def raw_collection(settings: Settings, metadata: dict[str, Any] | None, dim: int) -> None:
    """A store as something else left it: one chunk of ``dim`` dimensions, with only ``metadata``."""
    client = chromadb.PersistentClient(
        path=str(settings.chroma_dir), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection(settings.collection, metadata=metadata, embedding_function=None)
    vector = np.ones(dim, dtype=np.float32) / np.sqrt(dim)
    collection.add(ids=["old"], embeddings=[vector], documents=["Old text."], metadatas=[{"article_id": "old"}])


def test_store_from_another_model_is_explained(make_settings: Callable[..., Settings], embedder: Embedder) -> None:
    settings = make_settings()
    raw_collection(settings, {"embedding_model": "intfloat/e5-large", "embedding_dim": 1024}, 1024)
    with pytest.raises(StoreError) as info:
        ChunkStore(settings, embedder)
    message = str(info.value)
    assert "intfloat/e5-large (1024 dims)" in message and f"{embedder.model_id} (384 dims)" in message
    assert "peacetalks reset" in message


def test_store_without_model_record_is_checked_by_dimension(
    make_settings: Callable[..., Settings], embedder: Embedder
) -> None:
    settings = make_settings()
    raw_collection(settings, None, 768)
    with pytest.raises(StoreError, match="768-dimensional vectors from an unrecorded embedding model"):
        ChunkStore(settings, embedder)


def test_store_from_a_newer_version_is_refused(make_settings: Callable[..., Settings], embedder: Embedder) -> None:
    settings = make_settings()
    raw_collection(settings, {"embedding_model": embedder.model_id, "embedding_dim": 384, "schema_version": 99}, 384)
    with pytest.raises(StoreError, match="written by a newer peacetalks"):
        ChunkStore(settings, embedder)


def test_store_from_the_first_version_is_upgraded(
    make_settings: Callable[..., Settings], embedder: Embedder, small_corpus: Path
) -> None:
    """Schema 1 stores (no corpus version, an untagged BM25 build) open, answer, and are tagged by the next ingest."""
    settings = make_settings()
    store = ChunkStore(settings, embedder)
    assert build_ingest_pipeline(settings, store, show_progress=False).run([small_corpus / JEDDAH_FILE]).ok
    meta = {k: v for k, v in store.collection.metadata.items() if k in ("embedding_model", "embedding_dim")}
    store.collection.modify(metadata={**meta, "schema_version": 1})  # as the first version left it
    got = store.collection.get(include=["documents", "metadatas"])
    store._keyword.rebuild(list(got["ids"]), got["documents"] or [], [dict(m) for m in got["metadatas"] or []])
    assert store._keyword.corpus_version is None  # an untagged build

    reopened = ChunkStore(settings, embedder)
    assert reopened.corpus_version() == "initial"
    assert reopened.keyword.search(JEDDAH_KEYWORDS, 1) and reopened.keyword.corpus_version == "initial"
    report = build_ingest_pipeline(settings, reopened, show_progress=False).run([small_corpus])
    assert report.ok and len(report.added) == 3
    assert reopened.collection.metadata["schema_version"] == SCHEMA_VERSION
    assert reopened.keyword.corpus_version == reopened.corpus_version() != "initial"


def test_stale_keyword_cache_is_noticed_within_the_refresh_interval(
    chroma_server: ChromaServer, make_settings: Callable[..., Settings], embedder: Embedder, small_corpus: Path
) -> None:
    settings = make_settings(keyword_refresh_s=0.3, chroma_url=chroma_server.url, collection="refresh-interval")
    writer = ChunkStore(settings, embedder)
    reader = ChunkStore(settings.model_copy(update={"data_dir": settings.data_dir.parent / "other"}), embedder)
    pipeline = build_ingest_pipeline(settings, writer, show_progress=False)
    assert pipeline.run([small_corpus / "10_us_state_blinken_bsgi_suspension_2023-07-17.md"]).ok
    assert reader.keyword.search(JEDDAH_KEYWORDS, 3) == []
    assert pipeline.run([small_corpus / JEDDAH_FILE]).ok
    time.sleep(0.35)
    assert reader.keyword.search(JEDDAH_KEYWORDS, 3)


# ---- a shared PostgreSQL records database -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    if not PostgresServer.available():
        pytest.skip("PostgreSQL (initdb, postgres) or the psycopg driver is not installed")
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_postgres_records_shared_by_replicas_one_writer_at_a_time(
    chroma_server: ChromaServer,
    postgres: PostgresServer,
    make_settings: Callable[..., Settings],
    embedder: Embedder,
    small_corpus: Path,
) -> None:
    """The deployment's shape: a Chroma server and PostgreSQL records shared by two replicas with data dirs of
    their own. B lists what A ingested; while A holds the writer lock, B's writer waits (a PostgreSQL advisory
    lock: their file locks are in different folders)."""
    shared = {"chroma_url": chroma_server.url, "collection": "pg-replicas", "records_url": postgres.url}
    a_settings = no_llm(make_settings, data_dir=small_corpus.parent / "pg-a", **shared)
    b_settings = no_llm(make_settings, data_dir=small_corpus.parent / "pg-b", **shared)
    a, b = ChunkStore(a_settings, embedder), ChunkStore(b_settings, embedder)
    report = build_ingest_pipeline(a_settings, a, show_progress=False).run([small_corpus / JEDDAH_FILE])
    assert report.ok and report.added == [JEDDAH_ID]
    assert [r.article_id for r in b.list_articles()] == [JEDDAH_ID]
    assert b.record_manager.list_keys() == a.record_manager.list_keys() != []

    held = threading.Event()
    order: list[str] = []

    def hold() -> None:
        with a.writer_lock():
            held.set()
            time.sleep(1.0)
            order.append("a released")

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(30)
    with b.writer_lock():
        order.append("b acquired")
    thread.join()
    assert order == ["a released", "b acquired"]
    again = build_ingest_pipeline(b_settings, b, show_progress=False).run([small_corpus / JEDDAH_FILE])
    assert again.ok and again.unchanged == [JEDDAH_ID] and again.chunks_embedded == 0
