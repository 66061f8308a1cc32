"""The key ingest tests of test_pipeline.py, run again against a real Chroma server (``chroma run`` on loopback).

The test functions are imported, not copied: pytest collects them here too, and here ``store_and_pipeline`` opens
the store on the session's server (a collection of its own per test) instead of the embedded files.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.store import ChunkStore
from ingest.pipeline import IngestPipeline, build_ingest_pipeline
from tests.chroma_server import ChromaServer
from tests.ingest.test_pipeline import (  # noqa: F401 -- collected again, with this module's fixture
    test_edit_replaces_old_chunks,
    test_ingest_twice_is_identical,
    test_remove_articles,
    test_removed_article_is_deleted,
    test_store_refuses_other_embedding_model,
    test_store_write_failure_leaves_no_half_article,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def store_and_pipeline(
    chroma_server: ChromaServer, make_settings: Callable[..., Settings], embedder: Embedder
) -> tuple[ChunkStore, IngestPipeline]:
    settings = make_settings(chroma_url=chroma_server.url, collection=f"ingest-{uuid.uuid4().hex[:12]}")
    store = ChunkStore(settings, embedder)
    assert store.server == chroma_server.url
    return store, build_ingest_pipeline(settings, store, show_progress=False)
