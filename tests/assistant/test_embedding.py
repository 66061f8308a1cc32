"""The embedder's contract: normalised vectors, a remembered query, backends chosen by Settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embedding import BACKENDS, CACHE_MAX_CALL, Embedder, embedder_options, physical_cores


def test_settings_choose_the_backend_and_its_cache(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedding_backend="onnx-int8", embedding_threads=3, embedding_cache_dir=None)
    assert embedder_options(settings) == {"backend": "onnx-int8", "cache_dir": tmp_path / "models", "threads": 3}
    assert set(BACKENDS) == {"torch", "onnx", "onnx-int8"}
    assert physical_cores() >= 1


def test_unknown_backend_or_missing_cache_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown embedding backend"):
        Embedder(backend="tensorflow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cache_dir"):
        Embedder(backend="onnx")


@pytest.mark.slow
def test_a_question_is_embedded_once(embedder: Embedder) -> None:
    question = "Which ports did the Black Sea Grain Initiative reopen? (embedding cache test)"
    before = embedder.texts_embedded
    first = embedder.embed_query(question)
    # The answerer embeds the question again with its candidate sentences: the question comes from the cache.
    both = embedder.embed_texts([question, "Odesa, Chornomorsk and Pivdennyi."])
    assert embedder.texts_embedded == before + 2
    assert np.array_equal(first, both[0])
    assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-5
    first[:] = 0  # callers own the arrays they get: the cached vector is not theirs to change
    assert float(np.linalg.norm(embedder.embed_query(question))) > 0.99


@pytest.mark.slow
def test_large_calls_bypass_the_cache_and_keep_order(embedder: Embedder) -> None:
    texts = [f"Talks round {i} was held in city number {i}." for i in range(CACHE_MAX_CALL + 5)]
    texts[3] = "A much longer text about the negotiations, " * 5  # sorting by length must not reorder the output
    vectors = embedder.embed_texts(texts)
    assert vectors.shape == (len(texts), embedder.dimension)
    assert np.allclose(vectors[3], embedder.embed_texts([texts[3]])[0], atol=1e-5)
    assert np.allclose(vectors[-1], embedder.embed_texts([texts[-1]])[0], atol=1e-5)
