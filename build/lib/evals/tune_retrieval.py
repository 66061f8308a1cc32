"""Choose the retrieval settings by measurement: chunk size and overlap on the eval suites, HNSW on large stores.

    python -m evals.tune_retrieval chunking                   # corpus_qa, MS MARCO, ASQA; 7 chunkings
    python -m evals.tune_retrieval chunking --suite corpus --sizes 150 180 --overlaps 40
    python -m evals.tune_retrieval hnsw --chunks 10000 100000   # Chroma HNSW settings against exact search

``chunking`` re-chunks and re-ingests each suite once per (size, overlap) and scores the default retriever (hybrid,
adaptive fusion) and dense alone: recall@5, MRR@10, nDCG@10, with the chunk count and how many chunks are longer than
the model reads. Texts that come out the same under two chunkings are embedded once. corpus_qa counts a chunk as
relevant when it holds a whole gold quote, so very small chunks are penalised for cutting quotes: that is wanted,
the answerer quotes from one chunk.

``hnsw`` builds stores of N chunks (the corpus and MS MARCO texts, embedded once, then repeated with Gaussian noise
on the vectors as ``evals.bench_retrieval`` does; near-duplicates are what a growing news corpus is full of and what
HNSW finds hardest) under several HNSW settings, and reports for each the recall of the approximate top-30 (the
retriever's candidate pool) against exact search, query p50/p95 and build time.

Both print a table and write JSON under ``--out``. The defaults in ``assistant/config.py`` and
``assistant/store.py`` cite the figures these produced.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from chromadb.api.collection_configuration import CreateHNSWConfiguration

from assistant.config import Settings
from assistant.embedding import Embedder, ProgressCallback, embedder_options
from assistant.offline import apply_offline_environment
from assistant.retrieval import Retriever
from assistant.store import HNSW_CONFIGURATION
from evals.bench_retrieval import base_texts
from evals.datasets import DatasetMissing, load_bench, load_corpus_qa
from evals.metrics.answers import percentile
from evals.runner import _load_suite, _retrieval_scores

SUITES = ("corpus", "msmarco", "asqa")
# Chroma's own defaults first, then ours, then neighbours of ours in each direction.
HNSW_CANDIDATES: dict[str, CreateHNSWConfiguration] = {
    "chroma-default": {"space": "cosine", "max_neighbors": 16, "ef_construction": 100, "ef_search": 100},
    "peacetalks": HNSW_CONFIGURATION,
    "M32-efs128": {"space": "cosine", "max_neighbors": 32, "ef_construction": 200, "ef_search": 128},
    "M16-ef200": {"space": "cosine", "max_neighbors": 16, "ef_construction": 200, "ef_search": 200},
    "M32-efs64": {"space": "cosine", "max_neighbors": 32, "ef_construction": 200, "ef_search": 64},
    "M48-efs128": {"space": "cosine", "max_neighbors": 48, "ef_construction": 400, "ef_search": 128},
    "M48-efs256": {"space": "cosine", "max_neighbors": 48, "ef_construction": 400, "ef_search": 256},
}


class RememberingEmbedder:
    """An Embedder that embeds each distinct text once across the whole sweep (chunkings share most texts)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._known: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    def embed_texts(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            for text, vector in zip(missing, self._embedder.embed_texts(missing), strict=True):
                self._known[text] = vector
        if on_progress:
            on_progress(len(texts))
        if not texts:
            return np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return np.stack([self._known[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_texts([text])[0]


def chunkings(sizes: Sequence[int], overlaps: Sequence[int], default: tuple[int, int]) -> list[tuple[int, int]]:
    """Each size at the default overlap, and each overlap at the default size (a cross, not the full grid)."""
    pairs = [(s, default[1]) for s in sizes] + [(default[0], o) for o in overlaps]
    return sorted(set(pairs) | {default})


def chunking_sweep(
    defaults: Settings,
    model: Embedder,
    suites: Sequence[str],
    pairs: Sequence[tuple[int, int]],
    work: Path,
    shared: Path | None = None,
) -> list[dict[str, Any]]:
    """One row per (suite, chunk size, overlap): the chunks made and how well the default retriever finds gold."""
    from assistant.service import build_assistant
    from ingest.pipeline import build_ingest_pipeline

    embedder = RememberingEmbedder(model)
    rows: list[dict[str, Any]] = []
    for suite in suites:
        try:
            articles, items, root = _load_suite(defaults, suite, shared)
        except DatasetMissing as error:
            print(f"skipped {suite}: {error}")
            continue
        items = [i for i in items if i.answerable and i.gold]
        for size, overlap in pairs:
            settings = defaults.model_copy(
                update={
                    "data_dir": work / f"{suite}-{size}-{overlap}",
                    "chunk_tokens": size,
                    "chunk_overlap_tokens": overlap,
                }
            )
            started = time.perf_counter()
            assistant = build_assistant(settings, embedder=cast(Embedder, embedder))
            report = build_ingest_pipeline(settings, assistant.store, show_progress=False).run_articles(articles, root)
            if report.errors:
                raise RuntimeError(f"{suite} ingest failed at {size}/{overlap}: {report.errors[:3]}")
            ids = assistant.store.all_chunk_ids()
            lengths = [embedder.count_tokens(c.text) for c in assistant.store.get_chunks(ids)]
            row: dict[str, Any] = {
                "suite": suite,
                "chunk_tokens": size,
                "overlap_tokens": overlap,
                "chunks": len(ids),
                "mean_wordpiece": float(np.mean(lengths)) if lengths else 0.0,
                "over_model_window": sum(n > embedder.max_seq_length for n in lengths),
                "ingest_s": time.perf_counter() - started,
            }
            for name, mode in (("hybrid", "hybrid"), ("dense", "dense")):
                retriever = Retriever(
                    assistant.store,
                    cast(Embedder, embedder),
                    mode=mode,  # type: ignore[arg-type]
                    candidates=settings.retrieval_candidates,
                    max_per_article=settings.max_passages_per_article,
                    recency_weight=settings.recency_weight,
                    fusion=settings.fusion,
                    fusion_alpha=settings.fusion_alpha,
                    recent_slots=settings.recent_slots,
                    recent_margin=settings.recent_margin,
                    answer_k=settings.top_k,
                )
                scores = [_retrieval_scores(item, retriever.run(item.question, 10))[1] for item in items]
                for key in ("recall@5", "mrr@10", "ndcg@10"):
                    row[f"{name}_{key}"] = float(np.mean([s[key] or 0.0 for s in scores]))
            rows.append(row)
            print(
                f"{suite:8} {size:>4}/{overlap:<3} {row['chunks']:>5} chunks ({row['mean_wordpiece']:.0f} wp, "
                f"{row['over_model_window']} over {embedder.max_seq_length})  hybrid recall@5 "
                f"{row['hybrid_recall@5']:.3f} MRR {row['hybrid_mrr@10']:.3f}  dense recall@5 "
                f"{row['dense_recall@5']:.3f} MRR {row['dense_mrr@10']:.3f}",
                flush=True,
            )
    return rows


def _queries(embedder: Embedder, limit: int) -> np.ndarray:
    questions = [i.question for i in load_corpus_qa()]
    with contextlib.suppress(DatasetMissing):  # corpus_qa alone without the shared bench
        questions += [i.question for i in load_bench("msmarco")[1]]
    return embedder.embed_texts(list(dict.fromkeys(questions))[:limit])


def noisy_copies(vectors: np.ndarray, n: int, seed: int = 0, sigma: float = 0.02) -> np.ndarray:
    """n unit vectors: the base vectors in turn, each with Gaussian noise (as ``evals.bench_retrieval`` builds)."""
    rng = np.random.default_rng(seed)
    out = vectors[np.arange(n) % len(vectors)] + rng.normal(0, sigma, size=(n, vectors.shape[1])).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def hnsw_sweep(
    base: np.ndarray, queries: np.ndarray, sizes: Sequence[int], names: Sequence[str], k: int, work: Path
) -> list[dict[str, Any]]:
    """For each store size and HNSW setting: recall of Chroma's top-k against exact search, latency, build time.

    ``base`` are the real vectors the stores are grown from; ``queries`` the question vectors searched.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    rows: list[dict[str, Any]] = []
    for n in sizes:
        vectors = noisy_copies(base, n)
        exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :k]
        for name in names:
            client = chromadb.PersistentClient(
                path=str(work / f"hnsw-{n}-{name}"), settings=ChromaSettings(anonymized_telemetry=False)
            )
            collection = client.create_collection("sweep", configuration={"hnsw": HNSW_CANDIDATES[name]})
            started = time.perf_counter()
            step = int(client.get_max_batch_size())
            for start in range(0, n, step):
                stop = min(n, start + step)
                collection.add(ids=[str(i) for i in range(start, stop)], embeddings=vectors[start:stop])
            build_s = time.perf_counter() - started
            collection.query(query_embeddings=queries[:1], n_results=k, include=[])  # load the index
            latencies, recalls = [], []
            for query, truth in zip(queries, exact, strict=True):
                t0 = time.perf_counter()
                got = collection.query(query_embeddings=query[None, :], n_results=k, include=[])["ids"][0]
                latencies.append((time.perf_counter() - t0) * 1000)
                recalls.append(len({int(i) for i in got} & set(truth.tolist())) / k)
            row = {
                "chunks": n,
                "config": name,
                **{key: value for key, value in HNSW_CANDIDATES[name].items() if key != "space"},
                f"recall@{k}_vs_exact": float(np.mean(recalls)),
                "worst_query_recall": float(np.min(recalls)),
                "p50_ms": percentile(latencies, 50),
                "p95_ms": percentile(latencies, 95),
                "build_s": build_s,
            }
            rows.append(row)
            print(
                f"{n:>7} {name:15} recall@{k} vs exact {row[f'recall@{k}_vs_exact']:.4f} (worst query "
                f"{row['worst_query_recall']:.2f})  p50 {row['p50_ms']:.1f} ms  p95 {row['p95_ms']:.1f} ms  "
                f"built in {build_s:.0f} s",
                flush=True,
            )
            del collection, client
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.tune_retrieval", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="Folder for the JSON")
    parser.add_argument("--work", type=Path, default=None, help="Folder for the throwaway stores (default: a temp dir)")
    sub = parser.add_subparsers(dest="what", required=True)
    chunk = sub.add_parser("chunking", help="chunk size and overlap on the eval suites")
    chunk.add_argument("--suite", nargs="+", choices=SUITES, default=list(SUITES))
    chunk.add_argument("--sizes", nargs="+", type=int, default=[120, 150, 180, 220], help="cl100k tokens")
    chunk.add_argument("--overlaps", nargs="+", type=int, default=[0, 20, 60], help="cl100k tokens")
    chunk.add_argument("--shared", type=Path, default=None, help="The shared folder holding bench/")
    hnsw = sub.add_parser("hnsw", help="Chroma HNSW settings against exact search")
    hnsw.add_argument("--chunks", nargs="+", type=int, default=[10_000, 100_000])
    hnsw.add_argument("--configs", nargs="+", choices=list(HNSW_CANDIDATES), default=list(HNSW_CANDIDATES))
    hnsw.add_argument("--queries", type=int, default=300)
    hnsw.add_argument("--k", type=int, default=30, help="Compare top-k (the retriever's candidate pool is 30)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    apply_offline_environment()
    defaults = Settings(llm_base_url=None, llm_model=None)
    embedder = Embedder(defaults.embedding_model_path, defaults.embedding_batch_size, **embedder_options(defaults))
    with tempfile.TemporaryDirectory(prefix="peacetalks-tune-") as tmp:
        work = args.work or Path(tmp)
        if args.what == "chunking":
            pairs = chunkings(args.sizes, args.overlaps, (defaults.chunk_tokens, defaults.chunk_overlap_tokens))
            rows = chunking_sweep(defaults, embedder, args.suite, pairs, work, args.shared)
        else:
            base = embedder.embed_texts(base_texts(defaults.corpus_dir))
            rows = hnsw_sweep(base, _queries(embedder, args.queries), args.chunks, args.configs, args.k, work)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"tune-{args.what}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
