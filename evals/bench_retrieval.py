"""Retrieval latency at scale: ``python -m evals.bench_retrieval --chunks 10000``.

Builds a throwaway store of N chunks without paying for N embeddings: the texts of the bundled corpus and (when
present) the MS MARCO sample are embedded once, then repeated with small Gaussian noise on their vectors and a
suffix on their texts until N chunks exist. Retrieval cost depends on the index sizes, not on what the vectors
mean, so this measures what a user with N chunks waits for. Prints p50/p95 per retrieval mode (query embedding
included) and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.offline import apply_offline_environment
from assistant.retrieval import Retriever
from assistant.store import ChunkStore
from evals.datasets import DatasetMissing, load_bench, load_corpus_qa
from evals.metrics.answers import percentile
from ingest.loaders import discover_files, load_article


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
    settings: Settings, embedder: Embedder, n_chunks: int, seed: int = 0, include_bench: bool = True
) -> ChunkStore:
    store = ChunkStore(settings, embedder)
    texts = base_texts(settings.corpus_dir, include_bench)
    vectors = embedder.embed_texts(texts)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--json", type=Path, default=None, help="Write the figures here")
    args = parser.parse_args()
    apply_offline_environment()
    embedder = Embedder()
    questions = [i.question for i in load_corpus_qa()][: args.queries]
    results = {}
    for n in args.chunks:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp))
            started = time.perf_counter()
            store = build_store(settings, embedder, n)
            build_s = time.perf_counter() - started
            row: dict[str, float] = {"build_s": build_s, "chunks": float(store.count())}
            for mode in ("dense", "keyword", "hybrid"):
                retriever = Retriever(store, embedder, mode=mode)
                retriever.run(questions[0], k=5)  # warm-up: index load, BM25 load
                latencies = []
                for q in questions:
                    t0 = time.perf_counter()
                    retriever.run(q, k=5)
                    latencies.append((time.perf_counter() - t0) * 1000)
                row[f"{mode}_p50_ms"] = percentile(latencies, 50)
                row[f"{mode}_p95_ms"] = percentile(latencies, 95)
            results[n] = row
            modes = " | ".join(
                f"{m}: p50 {row[f'{m}_p50_ms']:.1f} ms, p95 {row[f'{m}_p95_ms']:.1f} ms"
                for m in ("dense", "keyword", "hybrid")
            )
            print(f"{n:>7} chunks | {modes} | built in {build_s:.0f}s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
