"""Retrieval tuning sweeps: chunkings re-ingest and score a suite; HNSW settings are checked against exact search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from evals.tune_retrieval import RememberingEmbedder, chunking_sweep, chunkings, hnsw_sweep, noisy_copies, parse_args
from tests.conftest import CORPUS_DIR


def test_chunkings_cross_sizes_and_overlaps_through_the_default() -> None:
    assert chunkings([120, 220], [0, 60], (180, 40)) == [(120, 40), (180, 0), (180, 40), (180, 60), (220, 40)]


def test_remembering_embedder_embeds_each_distinct_text_once(embedder: Embedder) -> None:
    remembering = RememberingEmbedder(embedder)
    before = embedder.texts_embedded
    first = remembering.embed_texts(["Minsk Protocol", "Jeddah ceasefire", "Minsk Protocol"])
    again = remembering.embed_texts(["Jeddah ceasefire", "Istanbul talks"])
    assert embedder.texts_embedded - before == 3  # "Minsk Protocol" and "Jeddah ceasefire" were not embedded twice
    assert np.array_equal(first[0], first[2]) and np.array_equal(first[1], again[0])
    assert remembering.embed_texts([]).shape == (0, embedder.dimension)
    assert remembering.dimension == embedder.dimension  # everything else is the wrapped embedder's


def test_noisy_copies_are_unit_vectors_near_their_base() -> None:
    base = np.eye(4, dtype=np.float32)
    copies = noisy_copies(base, 10)
    assert copies.shape == (10, 4)
    assert np.allclose(np.linalg.norm(copies, axis=1), 1.0, atol=1e-5)
    assert all(int(np.argmax(copies[i])) == i % 4 for i in range(10))


def test_hnsw_sweep_scores_chroma_against_exact_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=(200, 32)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = noisy_copies(base[:20], 20, seed=2, sigma=0.05)
    rows = hnsw_sweep(base, queries, [1500], ["chroma-default", "peacetalks"], k=10, work=tmp_path)
    assert [r["config"] for r in rows] == ["chroma-default", "peacetalks"]
    ours = rows[1]
    assert ours["max_neighbors"] == 32 and ours["chunks"] == 1500
    assert 0.9 <= ours["recall@10_vs_exact"] <= 1.0  # a 1,500-vector HNSW graph is close to exact
    assert ours["p95_ms"] >= ours["p50_ms"] > 0


def test_chunking_sweep_reingests_the_corpus_per_chunking(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=CORPUS_DIR, llm_base_url=None, llm_model=None)
    shipped = (settings.chunk_tokens, settings.chunk_overlap_tokens)
    rows = chunking_sweep(settings, embedder, ["corpus"], [(120, 20), shipped], tmp_path / "work")
    small, default = rows
    assert (small["chunk_tokens"], default["chunk_tokens"]) == (120, settings.chunk_tokens)
    assert small["chunks"] > default["chunks"] > 0  # smaller chunks: more of them
    assert small["mean_wordpiece"] < default["mean_wordpiece"]
    for row in rows:
        assert 0.0 <= row["dense_recall@5"] <= 1.0 and 0.0 <= row["hybrid_mrr@10"] <= 1.0
    assert default["hybrid_recall@5"] >= 0.9  # the shipped chunking finds most gold quotes (0.949 measured)


def test_cli_defaults_cover_the_three_suites_and_both_store_sizes() -> None:
    assert parse_args(["chunking"]).suite == ["corpus", "msmarco", "asqa"]
    args = parse_args(["hnsw", "--configs", "peacetalks"])
    assert args.chunks == [10_000, 100_000] and args.configs == ["peacetalks"] and args.k == 30
    with pytest.raises(SystemExit):
        parse_args(["hnsw", "--configs", "no-such-config"])
