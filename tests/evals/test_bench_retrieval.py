"""The retrieval latency benchmark builds a synthetic store of the asked size that every mode can search."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.retrieval import Retriever
from evals.bench_retrieval import build_store
from tests.conftest import CORPUS_DIR


@pytest.mark.slow
def test_synthetic_store_has_the_asked_size_and_answers(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path, corpus_dir=CORPUS_DIR)
    store = build_store(settings, embedder, 300, include_bench=False)
    assert store.count() == 300 and store.keyword.ready
    for mode in ("dense", "keyword", "hybrid"):
        hits = Retriever(store, embedder, mode=mode).run("Minsk Protocol ceasefire", k=5)
        assert len(hits) == 5, mode
