"""Ingest killed with SIGKILL at several points converges: the next ingest leaves exactly the right store.

Real ``peacetalks ingest`` processes (tests/ingest/kill_ingest.py) are killed mid-embedding, mid-write (half of
an article's chunks in Chroma), between the record manager and the article table, between Chroma's delete and the
records', and just before publishing. After each series the store is compared with the records and with the
chunk ids the corpus must produce: no duplicates, no orphans, nothing lost, and BM25 holding exactly the store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.indexing.api import _get_document_with_hash

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.store import ChunkStore
from ingest.loaders import discover_files, load_article
from ingest.pipeline import IngestPipeline, build_ingest_pipeline

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


def expected_chunks(pipeline: IngestPipeline, folder: Path) -> dict[str, set[str]]:
    """Article id -> the chunk ids an ingest of ``folder`` must leave (content hashes, as ``index()`` makes them)."""
    sources, _ = discover_files([folder])
    expected: dict[str, set[str]] = {}
    for source in sources:
        article = load_article(source, max_bytes=pipeline.max_file_bytes)
        docs = [Document(page_content=c.text, metadata=c.to_store_metadata()) for c in pipeline.chunker.run(article)]
        expected[article.article_id] = {str(_get_document_with_hash(d, key_encoder="sha256").id) for d in docs}
    return expected


def assert_converged(store: ChunkStore, pipeline: IngestPipeline, folder: Path) -> None:
    expected = expected_chunks(pipeline, folder)
    want = set().union(*expected.values())
    ids = store.all_chunk_ids()
    assert len(ids) == len(set(ids))
    stored = {c.chunk_id: c.article_id for c in store.get_chunks(ids)}
    assert set(ids) == want, (
        f"orphans: {sorted(stored[i] for i in set(ids) - want)}, "
        f"lost: {sorted(a for a, chunk_ids in expected.items() for i in chunk_ids - set(ids))}"
    )
    assert set(store.record_manager.list_keys()) == want
    for article_id, chunk_ids in expected.items():
        assert set(store.record_manager.list_keys(group_ids=[article_id])) == chunk_ids
    assert {r.article_id: r.n_chunks for r in store.list_articles()} == {a: len(c) for a, c in expected.items()}
    texts = [(c.article_id, c.text) for c in store.get_chunks(ids)]
    assert len(texts) == len(set(texts)), "the same text stored twice for one article"
    assert not store.write_unfinished()
    assert set(store.keyword.chunk_ids()) == want
    assert store.keyword.corpus_version == store.corpus_version()


def killed_ingest(point: str, folder: Path, settings: Settings) -> None:
    """Run ``peacetalks ingest FOLDER`` in a new process that SIGKILLs itself at ``point``; it must die there."""
    env = {
        **os.environ,
        "PEACETALKS_DATA_DIR": str(settings.data_dir),
        "PEACETALKS_COLLECTION": settings.collection,
        "PEACETALKS_EMBEDDING_BACKEND": "torch",  # the tests' model; the ONNX ones would be exported per data dir
    }
    if settings.chroma_url:
        env["PEACETALKS_CHROMA_URL"] = settings.chroma_url
    done = subprocess.run(
        [sys.executable, "-m", "tests.ingest.kill_ingest", point, "ingest", str(folder), "-q"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, f"{point}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


# Where each series of ingests is killed. The embedded store gets every point; the server, whose writes go
# through the same pipeline code, the two that matter most (a half-written article; written but unpublished),
# each killed process costing ~10 s of start-up.
KILLS = {
    "embedded": (("embed:2", "upsert:1", "records:1"), ("delete:1", "publish")),
    "server": (("upsert:2",), ("publish",)),
}


def test_sigkilled_ingests_converge(
    store_backend: str, backend_settings: Callable[..., Settings], embedder: Embedder, small_corpus: Path
) -> None:
    first, second = KILLS[store_backend]
    settings = backend_settings()
    store = ChunkStore(settings, embedder)
    pipeline = build_ingest_pipeline(settings, store, show_progress=False)

    # A first ingest of four articles, killed (embedded) in the 2nd article's embedding, half-way through its
    # Chroma write, and after its records but before its file hash; then one plain run.
    for point in first:
        killed_ingest(point, small_corpus, settings)
    assert store.write_unfinished()
    report = pipeline.run([small_corpus])
    assert report.ok and len(report.added) == 3 and len(report.unchanged) == 1
    assert_converged(store, pipeline, small_corpus)

    # An edit and a removal, killed (embedded) between Chroma's delete of the edited article's old chunks and the
    # records' delete, then just before publishing (everything written, the corpus version not bumped).
    jeddah = small_corpus / "19_us_ukraine_jeddah_joint_statement_2025-03-11.md"
    jeddah.write_text(jeddah.read_text(encoding="utf-8").replace("Ukraine", "Ukraina"), encoding="utf-8")
    (small_corpus / "22_putin_press_statement_2025-05-11_kremlin.md").unlink()
    version = store.corpus_version()
    for point in second:
        killed_ingest(point, small_corpus, settings)
    assert store.write_unfinished() and store.corpus_version() == version  # written, never published
    report = pipeline.run([small_corpus])
    assert report.ok and len(report.unchanged) == 3 and report.chunks_embedded == 0  # nothing left but to publish
    assert store.corpus_version() != version
    assert_converged(store, pipeline, small_corpus)
