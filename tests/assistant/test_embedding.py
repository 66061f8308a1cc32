"""The embedder's contract: normalised vectors, a remembered query, backends chosen by Settings."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embedding import (
    BACKENDS,
    CACHE_MAX_CALL,
    Embedder,
    LangChainEmbeddings,
    embedder_options,
    physical_cores,
)


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


@pytest.mark.slow
def test_embedding_ahead_embeds_each_text_once_with_the_same_vectors(embedder: Embedder) -> None:
    """Ingest hands groups to ``embed_ahead`` before writing them: ``embed_documents`` must then return those
    vectors without embedding again, embed only what was not handed ahead, and change no vector."""
    lc = LangChainEmbeddings(embedder)
    first = [f"Ahead test {i}: the delegations met in Istanbul on day {i} of the talks." for i in range(5)]
    second = [f"Ahead test {i}: the ceasefire proposal was discussed in Jeddah, round {i}." for i in range(4)]
    extra = "Ahead test: a sentence nobody handed ahead."
    reported: list[int] = []
    lc.on_progress = reported.append
    before = embedder.texts_embedded
    with lc.embed_ahead() as submit:
        submit(first)
        submit(second)
        got_first = np.asarray(lc.embed_documents(first))
        got_mixed = np.asarray(lc.embed_documents([second[2], extra, second[0]]))
    assert embedder.texts_embedded - before == len(first) + len(second) + 1
    assert sum(reported) == len(first) + len(second) + 1  # the progress bar hears of the work done ahead too
    reference = embedder._embed([*first, second[2], extra, second[0]], None)
    assert np.allclose(got_first, reference[:5], atol=1e-5)
    assert np.allclose(got_mixed, reference[5:], atol=1e-5)
    assert not lc._ahead  # nothing is kept once the block is left


@pytest.mark.slow
def test_a_failed_batch_ahead_is_embedded_again_on_demand(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    lc = LangChainEmbeddings(embedder)
    texts = ["Ahead failure test: the grain corridor reopened.", "Ahead failure test: prisoners were exchanged."]
    real = embedder.embed_texts
    calls: list[int] = []

    def fails_first(batch: list[str], on_progress: object = None) -> np.ndarray:
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("simulated failure ahead")
        return real(batch, on_progress)  # type: ignore[arg-type]

    monkeypatch.setattr(embedder, "embed_texts", fails_first)
    with lc.embed_ahead() as submit:
        submit(texts)
        vectors = np.asarray(lc.embed_documents(texts))
    assert calls == [2, 2]  # the failed batch ahead, then the caller's own call
    assert np.allclose(vectors, embedder._embed(texts, None), atol=1e-5)


@pytest.mark.slow
def test_batches_not_started_are_dropped_when_the_block_ends(embedder: Embedder) -> None:
    lc = LangChainEmbeddings(embedder)
    before = embedder.texts_embedded
    batches = [[f"Ahead drop test batch {b} sentence {i} about a summit." for i in range(20)] for b in range(10)]
    with lc.embed_ahead() as submit:
        for batch in batches:
            submit(batch)
    time.sleep(1.5)  # enough for a started batch of 20 to finish, far less than all 200 texts would take
    assert embedder.texts_embedded - before < 200


@pytest.mark.slow
def test_a_text_handed_ahead_twice_is_taken_from_its_first_batch(embedder: Embedder) -> None:
    """Repeated paragraphs make repeated chunks in later groups: the group that needs a text first must not wait
    for the later batch that repeats it (that held ingest's writes back until the end)."""
    lc = LangChainEmbeddings(embedder)
    repeated = "Ahead repeat test: the talks resumed in Istanbul."
    later = [
        repeated,
        *(
            f"Ahead repeat test {i}: a long later batch about exchanges of prisoners."
            for i in range(CACHE_MAX_CALL + 50)
        ),
    ]
    before = embedder.texts_embedded
    with lc.embed_ahead() as submit:
        submit([repeated])
        submit(later)
        lc.embed_documents([repeated])
        embedded_when_it_returned = embedder.texts_embedded - before
    assert embedded_when_it_returned < 1 + len(later)  # it returned before the later batch was done
