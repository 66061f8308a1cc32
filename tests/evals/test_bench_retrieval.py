"""The retrieval latency benchmark builds a synthetic store of the asked size that every mode can search."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.retrieval import Retriever
from evals.bench_retrieval import add_one_article, build_store
from tests.conftest import CORPUS_DIR


@pytest.mark.slow
def test_synthetic_store_has_the_asked_size_and_answers(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path, corpus_dir=CORPUS_DIR)
    store = build_store(settings, embedder, 300, include_bench=False)
    assert store.count() == 300 and store.keyword.ready
    for mode in ("dense", "keyword", "hybrid"):
        hits = Retriever(store, embedder, mode=mode).run("Minsk Protocol ceasefire", k=5)
        assert len(hits) == 5, mode


@pytest.mark.slow
def test_adding_one_article_lands_it_in_both_indexes(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path, corpus_dir=CORPUS_DIR)
    store = build_store(settings, embedder, 300, include_bench=False)
    assert add_one_article(settings, store) > 0
    added = store.list_articles()
    assert len(added) == 1 and store.count() == 300 + added[0].n_chunks
    keyword_ids = {cid for cid, _ in store.keyword.search(added[0].title, 300)}
    assert keyword_ids & set(store.all_chunk_ids()) - {f"bench-{i}" for i in range(300)}
