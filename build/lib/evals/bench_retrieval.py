"""Retrieval latency at scale: ``python -m evals.bench_retrieval --chunks 10000`` (also part of ``evals.bench``).

Builds a throwaway store of N chunks without paying for N embeddings: the texts of the bundled corpus and (when
present) the MS MARCO sample are embedded once, then repeated with small Gaussian noise on their vectors and a
suffix on their texts until N chunks exist. Retrieval cost depends on the index sizes, not on what the vectors
mean, so this measures what a user with N chunks waits for. Prints p50/p95 per retrieval mode (query embedding
included, never served from the embedder's cache) and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embedding import Embedder, embedder_options
from assistant.offline import apply_offline_environment
from assistant.retrieval import Retriever
from assistant.store import ChunkStore
from evals.datasets import DatasetMissing, load_bench, load_corpus_qa
from evals.metrics.answers import percentile
from ingest.loaders import discover_files, load_article

MODES = ("dense", "keyword", "hybrid")
SYNTHETIC_NOTE = (
    "synthetic stores: real texts (bundled corpus + MS MARCO sample) embedded once, repeated with Gaussian noise "
    "(sigma 0.02, renormalised) on their vectors and a copy suffix on their texts until N chunks exist"
)


def base_texts(corpus_dir: Path, include_bench: bool = True) -> list[str]:
    sources, _ = discover_files([corpus_dir])
    texts = [load_article(s).text[i : i + 800] for s in sources for i in range(0, 3000, 800)]
    if include_bench:
        try:
            articles, _ = load_bench("msmarco")
            texts += [a.text for a in articles]
        except DatasetMissing:
            pass
    return [t for t in texts if t.strip()]


def build_store(
    settings: Settings,
    embedder: Embedder,
    n_chunks: int,
    seed: int = 0,
    include_bench: bool = True,
    base: tuple[list[str], np.ndarray] | None = None,
) -> ChunkStore:
    """A store of ``n_chunks`` chunks; ``base`` = (texts, their vectors) skips embedding the base texts again."""
    store = ChunkStore(settings, embedder)
    if base is None:
        texts = base_texts(settings.corpus_dir, include_bench)
        vectors = embedder.embed_texts(texts)
    else:
        texts, vectors = base
    rng = np.random.default_rng(seed)
    batch_ids: list[str] = []
    batch_docs: list[str] = []
    batch_vecs: list[np.ndarray] = []
    batch_meta: list[Any] = []
    for i in range(n_chunks):
        j = i % len(texts)
        vec = vectors[j] + np.asarray(rng.normal(0, 0.02, size=vectors.shape[1]), dtype=np.float32)
        batch_ids.append(f"bench-{i}")
        batch_docs.append(f"{texts[j]} (copy {i // len(texts)})")
        batch_vecs.append(vec / np.linalg.norm(vec))
        batch_meta.append({"article_id": f"bench/{j}", "published_day": -1, "title": f"bench {j}"})
        if len(batch_ids) == 2000 or i == n_chunks - 1:
            store.collection.add(
                ids=batch_ids, documents=batch_docs, embeddings=np.stack(batch_vecs), metadatas=batch_meta
            )
            batch_ids, batch_docs, batch_vecs, batch_meta = [], [], [], []
    store.rebuild_keyword_index()
    return store


def add_one_article(settings: Settings, store: ChunkStore) -> float:
    """Seconds to ingest one new bundled article into ``store``, as a user adding the day's news waits for it:
    load, chunk, embed, write, and publish (the BM25 rebuild over every chunk, which grows with the store)."""
    from ingest.pipeline import build_ingest_pipeline

    sources, _ = discover_files([settings.corpus_dir])
    started = time.perf_counter()
    report = build_ingest_pipeline(settings, store, show_progress=False).run([sources[0].path], prune=False)
    if not report.ok or not report.added:
        raise RuntimeError(f"adding {sources[0].path} to the benchmark store failed: {report.errors[:1]}")
    return time.perf_counter() - started


def clear_query_cache(embedder: Embedder) -> None:
    """Forget remembered vectors, so a measured query pays for its embedding as a new question does."""
    cache = getattr(embedder, "_cache", None)
    if cache is not None:
        cache.clear()


def retrieval_latency(
    store: ChunkStore, embedder: Embedder, questions: Sequence[str], k: int = 5, modes: Sequence[str] = MODES
) -> dict[str, float]:
    """p50/p95 milliseconds of ``Retriever.run`` per mode, the query embedding included (first question: warm-up)."""
    row: dict[str, float] = {}
    for mode in modes:
        retriever = Retriever(store, embedder, mode=mode)  # type: ignore[arg-type]
        retriever.run(questions[0], k=k)  # warm-up: index load, BM25 load
        clear_query_cache(embedder)
        latencies = []
        for q in questions[1:]:
            t0 = time.perf_counter()
            retriever.run(q, k=k)
            latencies.append((time.perf_counter() - t0) * 1000)
        row[f"{mode}_p50_ms"] = percentile(latencies, 50)
        row[f"{mode}_p95_ms"] = percentile(latencies, 95)
    return row


def benchmark_questions(limit: int) -> list[str]:
    """Distinct corpus_qa questions (the first one is spent on warm-up)."""
    return list(dict.fromkeys(i.question for i in load_corpus_qa()))[: limit + 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--json", type=Path, default=None, help="Write the figures here")
    args = parser.parse_args()
    apply_offline_environment()
    defaults = Settings()
    embedder = Embedder(defaults.embedding_model_path, defaults.embedding_batch_size, **embedder_options(defaults))
    questions = benchmark_questions(args.queries)
    base = base_texts(defaults.corpus_dir)
    vectors = embedder.embed_texts(base)
    results = {}
    for n in args.chunks:
        with tempfile.TemporaryDirectory() as tmp:
            settings = defaults.model_copy(update={"data_dir": Path(tmp)})
            started = time.perf_counter()
            store = build_store(settings, embedder, n, base=(base, vectors))
            build_s = time.perf_counter() - started
            row: dict[str, float] = {"build_s": build_s, "chunks": float(store.count())}
            row.update(retrieval_latency(store, embedder, questions))
            row["add_article_s"] = add_one_article(settings, store)
            results[n] = row
            modes = " | ".join(f"{m}: p50 {row[f'{m}_p50_ms']:.1f} ms, p95 {row[f'{m}_p95_ms']:.1f} ms" for m in MODES)
            print(
                f"{n:>7} chunks | {modes} | adding one article {row['add_article_s']:.1f} s | built in {build_s:.0f}s"
            )
    print(f"({SYNTHETIC_NOTE}; embedding backend {embedder.backend})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
