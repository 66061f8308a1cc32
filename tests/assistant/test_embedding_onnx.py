"""The ONNX backends: exported once from the packaged weights, vectors ≥ 0.99 cosine of torch's on real chunks.

The export is cached in pytest's cache folder (keyed by the model and the recipe), so only the first run of the
suite on a machine pays for it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from evals.datasets import load_corpus_qa
from ingest.chunking import ChunkingConfig, SentenceChunker, load_tokenizer
from ingest.loaders import discover_files, load_article
from tests.conftest import CORPUS_DIR, REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = request.config.cache
    base = Path(cache.mkdir("peacetalks-bench-data")) if cache is not None else tmp_path_factory.mktemp("onnx")
    return base / "models"


@pytest.fixture(scope="module")
def chunks(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> list[str]:
    """Every chunk of the bundled corpus, cut as ingest cuts them (the configured size, within the model's window)."""
    settings = Settings()
    chunker = SentenceChunker(
        load_tokenizer(tmp_path_factory.mktemp("tiktoken")),
        ChunkingConfig(settings.chunk_tokens, settings.chunk_overlap_tokens, embedder.max_seq_length),
        model_tokens=embedder.count_tokens,
    )
    sources, _ = discover_files([CORPUS_DIR])
    return [c.text for s in sources for c in chunker.run(load_article(s))]


@pytest.mark.parametrize(("backend", "floor"), [("onnx", 0.9999), ("onnx-int8", 0.99)])
def test_vectors_stay_close_to_torch_on_corpus_chunks_and_questions(
    backend: str, floor: float, models_dir: Path, chunks: list[str], embedder: Embedder
) -> None:
    onnx = Embedder(backend=backend, cache_dir=models_dir)  # type: ignore[arg-type]
    assert (onnx.model_id, onnx.dimension, onnx.max_seq_length) == (embedder.model_id, 384, 256)
    questions = [i.question for i in load_corpus_qa()][:30]
    for texts in (chunks, questions):
        got, want = onnx.embed_texts(texts), embedder.embed_texts(texts)
        cosine = np.sum(got * want, axis=1)
        assert cosine.min() >= floor, (backend, float(cosine.min()), texts[int(cosine.argmin())][:80])
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)
    assert [onnx.count_tokens(t) for t in chunks[:5]] == [embedder.count_tokens(t) for t in chunks[:5]]


def test_an_int8_vector_does_not_depend_on_the_texts_embedded_with_it(models_dir: Path, chunks: list[str]) -> None:
    """int8 sets its activation scale per run: batched, a chunk's vector moved with its batch mates (re-ingesting
    the same text gave another vector). Embedded with twelve others or alone, it must be the same vector."""
    texts = sorted(chunks, key=len)[-12:]  # similar lengths: at 32 per batch they would share one run
    together = Embedder(backend="onnx-int8", cache_dir=models_dir).embed_texts(texts)
    alone = Embedder(backend="onnx-int8", cache_dir=models_dir)
    for text, vector in zip(texts, together, strict=True):
        assert np.abs(alone.embed_texts([text])[0] - vector).max() < 1e-6


def test_quantising_leaves_the_root_logger_as_it_was(models_dir: Path, tmp_path: Path) -> None:
    """onnxruntime's quantisation calls logging.basicConfig on import: left alone, every library's DEBUG lines
    (bm25s's, chromadb's) reached the user's terminal after the first ingest. A fresh interpreter, because pytest's
    own log handlers on the root logger would turn basicConfig into a no-op here."""
    Embedder(backend="onnx", cache_dir=models_dir)
    fp32 = sorted(models_dir.glob("onnx/*/model.onnx"))[-1]
    script = (
        "import logging; from pathlib import Path; from assistant.embedding import _quantize; "
        f"_quantize(Path({str(fp32)!r}), Path({str(tmp_path / 'model-int8.onnx')!r})); "
        "root = logging.getLogger(); print(root.level, len(root.handlers))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    assert (tmp_path / "model-int8.onnx").is_file()
    assert done.stdout.split() == [str(logging.WARNING), "0"], done.stdout + done.stderr


def test_the_onnx_backend_runs_without_torch_from_its_cached_export(models_dir: Path) -> None:
    Embedder(backend="onnx-int8", cache_dir=models_dir)  # exported here if the test above did not run first
    exports = sorted(models_dir.glob("onnx/*/model-int8.onnx"))
    assert exports, "no export in the cache"
    stamp = exports[-1].stat().st_mtime_ns
    script = (
        "import json, sys; from pathlib import Path; from assistant.embedding import Embedder; "
        f"e = Embedder(backend='onnx-int8', cache_dir=Path({str(models_dir)!r})); "
        "v = e.embed_texts(['Istanbul talks', 'Grain deal']); "
        "print(json.dumps({'torch': 'torch' in sys.modules, 'st': 'sentence_transformers' in sys.modules, "
        "'shape': list(v.shape)}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEACETALKS_")}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"torch": False, "st": False, "shape": [2, 384]}
    assert "exporting" not in done.stderr  # served from the cache
    assert exports[-1].stat().st_mtime_ns == stamp
