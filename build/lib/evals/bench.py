"""What users wait for, measured in one run: ``python -m evals.bench`` (or ``peacetalks bench``); a table and JSON.

* compute: this machine's float32 matrix-product GFLOP/s (torch, MiniLM's feed-forward shape, one thread per
  physical core), measured at the start and the end of the run. MiniLM-L6 costs about 6 GFLOP per 256-token chunk,
  so the compute bound is GFLOP/s ÷ (6 × mean tokens / 256) chunks per second.
* ingest: chunks per second through our pipeline (chunking, embedding, Chroma + records + BM25) for each embedding
  backend asked, and through the plain LangChain pipeline (HuggingFaceEmbeddings + ``Chroma.add_documents``) on the
  same chunk texts, for the bundled corpus and a larger synthetic corpus made of real text (bundled articles and the
  public benchmark passages, recombined into new articles). Each runs in its own process, which gives its peak RSS.
* retrieval: p50/p95 of dense, keyword and hybrid retrieval at each size (synthetic stores: see
  ``evals.bench_retrieval``), query embedding included and never served from a cache; extractive ``ask`` latency.
* app: ``peacetalks chat`` spawned over a freshly ingested bundled corpus: start-up to the first answer, time to
  the first streamed token through the UI (gradio_client), the app's peak RSS, and the ingest command's.
* quality (``--quality``): recall@5 on corpus_qa and the MS MARCO sample for each backend, to show a faster backend
  loses nothing.

Speed and memory are figures to compare on one machine, never pass/fail tests; "goals" records which targets of the
issue a run met. The machine's load is recorded too: on a busy machine every figure is slower.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embedding import BACKENDS, Embedder, packaged_model_path, physical_cores
from assistant.models import Article, ArticleMetadata
from assistant.offline import apply_offline_environment
from evals.bench_retrieval import (
    MODES,
    SYNTHETIC_NOTE,
    add_one_article,
    base_texts,
    benchmark_questions,
    build_store,
    clear_query_cache,
    retrieval_latency,
)
from evals.datasets import REPO_ROOT, DatasetMissing, load_bench
from evals.metrics.answers import percentile

GFLOP_PER_256_TOKENS = 6.0  # MiniLM-L6-H384: ~23 MFLOP per token (6 layers of 384×384 ×4 and 384×1536 ×2, + attention)
GOALS = {
    "ingest_vs_baseline": 2.0,
    "ingest_of_compute_bound": 0.70,
    "retrieval_hybrid_p95_ms_at_100k": 50.0,
    "ask_p50_ms_at_10k": 300.0,
    "startup_to_first_answer_s": 15.0,
    "app_peak_rss_mb": 1536.0,
}
APP_QUESTIONS = [
    "What did the Istanbul Communiqué propose?",
    "What did the US and Ukraine agree in Jeddah?",
    "What did Putin propose on 11 May 2025?",
    "When did the first round of talks in 2022 take place?",
    "What was the Black Sea Grain Initiative?",
    "What does the Minsk Protocol say about a ceasefire?",
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident set size of a process (this one by default) since its program started, in MB.

    /proc's VmHWM, not ru_maxrss: a child's ru_maxrss can include the pages of the parent it was forked from.
    """
    peak = _proc_status(pid or os.getpid()).get("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# Vector extensions that decide how fast int8 and float32 matrix products run, hence the ratio to the plain pipeline.
CPU_EXTENSIONS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimd", "i8mm")


def cpu_model(cpuinfo: str | None = None) -> dict[str, Any]:
    """The processor's name and which of ``CPU_EXTENSIONS`` it has, from /proc/cpuinfo (empty where there is none).

    The int8 embedder's lead over torch float32 depends on the processor: integer dot-product extensions (VNNI, AMX)
    widen it, and even two AVX2 hosts differ, so a figure is only comparable with one from the same processor."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {"name": platform.processor() or platform.machine(), "extensions": []}
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    name = fields.get("model name") or fields.get("Hardware") or platform.machine()
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    return {"name": name, "extensions": [flag for flag in CPU_EXTENSIONS if flag in flags]}


# ---- compute bound -----------------------------------------------------------------------------------------------


def matmul_gflops(seconds: float = 1.0, threads: int | None = None) -> dict[str, float]:
    """Best float32 GFLOP/s of a MiniLM-shaped product ([4096×384]·[384×1536], torch) and of numpy's 1024² one."""
    import torch

    torch.set_num_threads(threads or physical_cores())
    a, b = torch.randn(4096, 384), torch.randn(384, 1536)
    flops = 2 * 4096 * 384 * 1536

    def best(run: Callable[[], Any], flop: float) -> float:
        run()
        rates = []
        for _ in range(3):
            n, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds / 3:
                run()
                n += 1
            rates.append(n * flop / (time.perf_counter() - started) / 1e9)
        return max(rates)

    x, y = np.random.rand(1024, 1024).astype(np.float32), np.random.rand(1024, 1024).astype(np.float32)
    return {
        "torch_minilm_shape_gflops": best(lambda: torch.mm(a, b), flops),
        "numpy_1024_gflops": best(lambda: x @ y, 2 * 1024**3),
    }


# ---- corpora -----------------------------------------------------------------------------------------------------


def bundled_articles(corpus_dir: Path) -> list[Article]:
    from ingest.loaders import discover_files, load_article

    sources, _ = discover_files([corpus_dir])
    return [load_article(s) for s in sources]


def real_paragraphs(corpus_dir: Path) -> list[str]:
    """Paragraphs of the bundled articles and passages of the public benchmark samples (when present)."""
    paragraphs = [p.strip() for a in bundled_articles(corpus_dir) for p in a.text.split("\n\n") if len(p.strip()) > 80]
    for suite in ("msmarco", "asqa"):
        with contextlib.suppress(DatasetMissing):
            paragraphs += [a.text for a in load_bench(suite)[0]]
    return paragraphs


def synthetic_articles(corpus_dir: Path, chunker: Any, n_chunks: int, seed: int = 0) -> list[Article]:
    """New articles of about 12 real paragraphs each, drawn at random, until they make ``n_chunks`` chunks."""
    paragraphs = real_paragraphs(corpus_dir)
    rng = np.random.default_rng(seed)
    articles: list[Article] = []
    total = 0
    while total < n_chunks:
        picked = rng.choice(len(paragraphs), size=min(12, len(paragraphs)), replace=False)
        text = "\n\n".join(paragraphs[int(i)] for i in picked)
        number = len(articles)
        article = Article(
            article_id=f"synthetic/{number:05d}",
            path=f"synthetic/{number:05d}.md",
            text=text,
            metadata=ArticleMetadata(title=f"Synthetic article {number}", publisher="bench"),
            content_sha256=hashlib.sha256(text.encode()).hexdigest(),
        )
        articles.append(article)
        total += len(chunker.run(article))
    return articles


def write_articles(articles: Sequence[Article], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for article in articles:
            out.write(json.dumps(dataclasses.asdict(article), ensure_ascii=False) + "\n")


def read_articles(path: Path) -> list[Article]:
    articles = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        row["metadata"] = ArticleMetadata(**row["metadata"])
        articles.append(Article(**row))
    return articles


# ---- ingest workers (each in its own process, for a clean peak RSS) ------------------------------------------------


def _worker_ours(spec: dict[str, Any]) -> dict[str, Any]:
    from assistant.store import ChunkStore
    from ingest.pipeline import build_ingest_pipeline

    settings = Settings(
        data_dir=Path(spec["data_dir"]),
        embedding_backend=spec["backend"],
        embedding_batch_size=spec["batch_size"],
        embedding_threads=spec["threads"],
        llm_base_url=None,
        llm_model=None,
    )
    articles = read_articles(Path(spec["articles"]))
    started = time.perf_counter()
    embedder = Embedder(
        None, settings.embedding_batch_size, spec["backend"], Path(spec["models_dir"]), settings.embedding_threads
    )
    load_s = time.perf_counter() - started
    store = ChunkStore(settings, embedder)
    pipeline = build_ingest_pipeline(settings, store, show_progress=False)
    cpu = time.process_time()
    report = pipeline.run_articles(articles, root="bench:ingest")
    cpu = time.process_time() - cpu
    if report.errors:
        raise RuntimeError(f"ingest failed: {report.errors[:3]}")
    again = pipeline.run_articles(articles, root="bench:ingest")  # nothing changed: everything is skipped
    return {
        "chunks": report.chunks_embedded,
        "seconds": report.seconds,
        "cpu_s": cpu,  # all threads: on a busy machine, chunks per CPU-second compare better than per second
        "embed_seconds": embedder.embed_seconds,
        "load_s": load_s,
        "resync_unchanged_s": again.seconds,
        "resync_embedded": again.chunks_embedded,
        "peak_rss_mb": peak_rss_mb(),
    }


def _baseline_embeddings(model_path: str) -> tuple[Any, str]:
    """LangChain's HuggingFaceEmbeddings as a user would install it; a documented stand-in when neither package is."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from langchain_huggingface import HuggingFaceEmbeddings

            return HuggingFaceEmbeddings(model_name=model_path), "langchain_huggingface.HuggingFaceEmbeddings"
        except ImportError:
            pass
        try:
            from langchain_community.embeddings import HuggingFaceEmbeddings as Community

            return Community(model_name=model_path), "langchain_community.embeddings.HuggingFaceEmbeddings"
        except ImportError:
            pass
    from langchain_core.embeddings import Embeddings
    from sentence_transformers import SentenceTransformer

    class PlainHuggingFaceEmbeddings(Embeddings):
        """What HuggingFaceEmbeddings does: one SentenceTransformer.encode over all texts, default settings."""

        def __init__(self) -> None:
            self.model = SentenceTransformer(model_path, device="cpu", local_files_only=True)

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.model.encode(texts, show_progress_bar=False).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    return PlainHuggingFaceEmbeddings(), "stand-in: SentenceTransformer.encode (as HuggingFaceEmbeddings does)"


def _worker_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document

    texts = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))
    started = time.perf_counter()
    embeddings, label = _baseline_embeddings(str(packaged_model_path()))
    load_s = time.perf_counter() - started
    client = chromadb.PersistentClient(path=spec["data_dir"], settings=ChromaSettings(anonymized_telemetry=False))
    store = Chroma(client=client, collection_name="baseline", embedding_function=embeddings)
    docs = [Document(page_content=t, metadata={"n": i}) for i, t in enumerate(texts)]
    step = int(client.get_max_batch_size())  # one add_documents is one Chroma upsert: keep it under Chroma's limit
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(docs), step):
        store.add_documents(docs[start : start + step])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "chunks": len(docs),
        "seconds": seconds,
        "cpu_s": cpu,
        "load_s": load_s,
        "embeddings": label,
        "peak_rss_mb": peak_rss_mb(),
    }


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"ours": _worker_ours, "baseline": _worker_baseline}


def run_worker(kind: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    spec_file = work / f"spec-{kind}-{time.monotonic_ns()}.json"
    result_file = spec_file.with_suffix(".result.json")
    spec_file.write_text(json.dumps({**spec, "result": str(result_file)}), encoding="utf-8")
    before = load()
    done = subprocess.run(
        [sys.executable, "-m", "evals.bench", "--worker", kind, str(spec_file)],
        cwd=REPO_ROOT,
        env=bench_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not result_file.exists():
        raise RuntimeError(f"{kind} ingest worker failed ({done.returncode}): {done.stderr[-2000:]}")
    result = dict(json.loads(result_file.read_text(encoding="utf-8")))
    result["load_avg"] = [max(a, b) for a, b in zip(before, load(), strict=True)]
    return result


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of the processes the benchmark starts: ours, minus PEACETALKS_* (settings are passed
    explicitly), offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEACETALKS_")}
    env.update(extra)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("ANONYMIZED_TELEMETRY", "False")
    env.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def _bounded(
    kind: str, spec: dict[str, Any], work: Path, args: argparse.Namespace, defaults: Settings, gflop_per_chunk: float
) -> tuple[dict[str, Any], float]:
    """A worker's figures, with the compute bound measured just before and after it (under the same load)."""
    before = matmul_gflops(args.compute_seconds, defaults.embedding_threads)["torch_minilm_shape_gflops"]
    result = run_worker(kind, spec, work)
    after = matmul_gflops(args.compute_seconds, defaults.embedding_threads)["torch_minilm_shape_gflops"]
    result["matmul_gflops"] = (before + after) / 2
    result["gflop_per_chunk"] = gflop_per_chunk
    result["compute_bound_chunks_per_s"] = result["matmul_gflops"] / gflop_per_chunk
    return result, result["compute_bound_chunks_per_s"]


def _median_index(values: Sequence[float]) -> int:
    """Index of the median value (the lower middle one for an even count): its run's figures are reported."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    return order[(len(order) - 1) // 2]


def ingest_section(args: argparse.Namespace, defaults: Settings, reference: Embedder, work: Path) -> list[dict]:
    from ingest.chunking import ChunkingConfig, SentenceChunker, load_tokenizer

    chunker = SentenceChunker(  # the pipeline's chunker (as build_ingest_pipeline makes it)
        load_tokenizer(defaults.tiktoken_cache_dir),
        ChunkingConfig(
            max_tokens=defaults.chunk_tokens,
            overlap_tokens=defaults.chunk_overlap_tokens,
            model_window=reference.max_seq_length,
        ),
        model_tokens=reference.count_tokens,
    )
    corpora = {} if args.quick else {"bundled": bundled_articles(defaults.corpus_dir)}  # quick: the synthetic only
    if args.ingest_chunks:
        corpora[f"synthetic-{args.ingest_chunks}"] = synthetic_articles(
            defaults.corpus_dir, chunker, args.ingest_chunks
        )
    rows: list[dict[str, Any]] = []
    for name, articles in corpora.items():
        texts = [c.text for a in articles for c in chunker.run(a)]
        tokens = [min(reference.count_tokens(t), reference.max_seq_length) for t in texts]
        mean_tokens = float(np.mean(tokens))
        gflop_per_chunk = GFLOP_PER_256_TOKENS * mean_tokens / 256
        articles_file = work / f"{name}.jsonl"
        write_articles(articles, articles_file)
        texts_file = work / f"{name}.texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        log(f"ingest {name}: {len(articles)} articles, {len(texts)} chunks, {mean_tokens:.0f} tokens per chunk")
        common = {"corpus": name, "articles": len(articles), "mean_tokens": mean_tokens}
        base_spec = {"texts": str(texts_file)}
        specs = {
            backend: {
                "articles": str(articles_file),
                "backend": backend,
                "models_dir": str(args.models_dir),
                "batch_size": defaults.embedding_batch_size,
                "threads": defaults.embedding_threads,
            }
            for backend in args.backends
        }
        # Each repeat runs every system once, in alternating order, into fresh stores: the machine drifts (load,
        # clocks) by about 5 % between runs, and interleaving spreads that over both sides of each ratio.
        runs: dict[str, list[tuple[dict[str, Any], float]]] = {"plain": [], **{b: [] for b in args.backends}}
        for repeat in range(args.repeat):
            order = ["plain", *args.backends]
            for system in order if repeat % 2 == 0 else order[::-1]:
                suffix = f"-{repeat}" if args.repeat > 1 else ""
                of = f" (run {repeat + 1} of {args.repeat})" if args.repeat > 1 else ""
                if system == "plain":
                    log(f"  plain LangChain pipeline on {len(texts)} chunks{of}")
                    spec = {**base_spec, "data_dir": str(work / f"{name}-baseline{suffix}")}
                    runs[system].append(_bounded("baseline", spec, work, args, defaults, gflop_per_chunk))
                else:
                    log(f"  peacetalks ({system}) on {len(articles)} articles{of}")
                    spec = {**specs[system], "data_dir": str(work / f"{name}-{system}{suffix}")}
                    runs[system].append(_bounded("ours", spec, work, args, defaults, gflop_per_chunk))
        plain_rates = [r["chunks"] / r["seconds"] for r, _ in runs["plain"]]
        plain_cpu = [r["chunks"] / r["cpu_s"] for r, _ in runs["plain"]]
        base, bound = runs["plain"][_median_index(plain_rates)]
        base_rate = base["chunks"] / base["seconds"]
        rows.append(
            {
                **common,
                "system": "langchain-plain",
                "backend": "torch",
                **base,
                "chunks_per_s": base_rate,
                "runs_chunks_per_s": plain_rates,
                "embed_chunks_per_s": None,
                "of_compute_bound": base_rate / bound,
                "vs_baseline": 1.0,
                "vs_baseline_cpu": 1.0,
            }
        )
        for backend in args.backends:
            rates = [r["chunks"] / r["seconds"] for r, _ in runs[backend]]
            ours, bound = runs[backend][_median_index(rates)]
            rate = ours["chunks"] / ours["seconds"]
            embed_rate = ours["chunks"] / ours["embed_seconds"] if ours["embed_seconds"] else None
            # One ratio per repeat (the two runs next to each other), then the median of those.
            ratios = [ours_rate / plain_rate for ours_rate, plain_rate in zip(rates, plain_rates, strict=True)]
            cpu_ratios = [
                (r["chunks"] / r["cpu_s"]) / plain for (r, _), plain in zip(runs[backend], plain_cpu, strict=True)
            ]
            rows.append(
                {
                    **common,
                    "system": "peacetalks",
                    "backend": backend,
                    **ours,
                    "chunks_per_s": rate,
                    "runs_chunks_per_s": rates,
                    "embed_chunks_per_s": embed_rate,
                    "of_compute_bound": (embed_rate or rate) / bound,
                    "vs_baseline": float(np.median(ratios)),
                    "vs_baseline_runs": ratios,
                    # the same ratio per CPU-second (all threads), steadier than wall time on a shared machine
                    "vs_baseline_cpu": float(np.median(cpu_ratios)),
                }
            )
    return rows


# ---- retrieval and ask latency -------------------------------------------------------------------------------------


def retrieval_section(args: argparse.Namespace, defaults: Settings, embedder: Embedder, work: Path) -> list[dict]:
    from assistant.service import build_assistant

    questions = benchmark_questions(args.queries)
    texts = base_texts(defaults.corpus_dir, include_bench=not args.quick)
    started = time.perf_counter()
    vectors = embedder.embed_texts(texts)
    log(f"retrieval: embedded {len(texts)} base texts in {time.perf_counter() - started:.0f} s")
    rows = []
    for n in args.chunks:
        data_dir = work / f"retrieval-{n}"
        settings = defaults.model_copy(update={"data_dir": data_dir, "llm_base_url": None, "llm_model": None})
        started = time.perf_counter()
        store = build_store(settings, embedder, n, base=(texts, vectors))
        build_s = time.perf_counter() - started
        log(f"retrieval: store of {store.count()} chunks built in {build_s:.0f} s")
        row: dict[str, Any] = {"chunks": store.count(), "build_s": build_s}
        row.update(retrieval_latency(store, embedder, questions))
        if n <= args.ask_max_chunks:
            assistant = build_assistant(settings, embedder=embedder)
            started = time.perf_counter()
            assistant.ask(questions[0])  # warm-up: BM25 and vocabulary load, first-call costs
            row["ask_warmup_s"] = time.perf_counter() - started
            latencies = []
            for question in questions[1 : args.asks + 1]:
                # Cold: nothing remembered. (Synthetic stores repeat their texts, so remembered sentence vectors
                # would make answers look faster than on a real store of that size.)
                clear_query_cache(embedder)
                t0 = time.perf_counter()
                assistant.ask(question)
                latencies.append((time.perf_counter() - t0) * 1000)
            row["ask_p50_ms"] = percentile(latencies, 50)
            row["ask_p95_ms"] = percentile(latencies, 95)
        row["add_article_s"] = add_one_article(settings, store)
        rows.append(row)
        log("retrieval: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items() if k.endswith("_ms")))
        del store
        shutil.rmtree(data_dir, ignore_errors=True)
    return rows


# ---- the app through its UI ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a running process, in MB."""
    out = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def _assistant_text(output: Any) -> str:
    """The assistant's text in one UI update, wherever the chat component puts it (robust to UI changes)."""
    found: list[str] = []

    def strings(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for key, v in value.items():
                if key not in {"type", "role", "metadata", "options", "mime_type"}:
                    yield from strings(v)
        elif isinstance(value, list | tuple):
            for v in value:
                yield from strings(v)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("role") == "assistant":
                found.append(" ".join(strings(value.get("content"))))
                return
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(output)
    text = found[-1].strip() if found else ""
    return "" if text in {"…", "...", ""} else text


def _chat_call(client: Any) -> tuple[str, Callable[[str], list[Any]]]:
    """The chat endpoint and how to fill its inputs, read from the running app (its signature may change)."""
    api = client.view_api(print_info=False, return_format="dict")
    endpoints = api.get("named_endpoints", {})
    name = "/chat" if "/chat" in endpoints else next(k for k in endpoints if "chat" in k)
    params = endpoints[name].get("parameters", [])

    def fill(question: str) -> list[Any]:
        values: list[Any] = []
        asked = False
        for p in params:
            if not asked and p.get("component") == "Textbox":
                values.append(question)
                asked = True
            elif p.get("parameter_has_default"):
                values.append(p.get("parameter_default"))
            else:
                values.append([] if p.get("component") == "Chatbot" else None)
        return values

    return name, fill


def _ask_ui(client: Any, endpoint: str, args: list[Any]) -> tuple[float, float, str]:
    """(ms to the first streamed answer text, ms to the end, answer) for one question through the UI."""
    started = time.perf_counter()
    job = client.submit(*args, api_name=endpoint)
    first: float | None = None
    text = ""
    for update in job:
        text = _assistant_text(update) or text
        if first is None and text:
            first = (time.perf_counter() - started) * 1000
    final = job.result()
    text = _assistant_text(final) or text
    total = (time.perf_counter() - started) * 1000
    return first if first is not None else total, total, text


def app_section(args: argparse.Namespace, defaults: Settings, work: Path) -> dict[str, Any]:
    from gradio_client import Client

    data_dir = work / "app"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = bench_env(
        PEACETALKS_EMBEDDING_BACKEND=args.app_backend,
        PEACETALKS_EMBEDDING_CACHE_DIR=str(args.models_dir.resolve()),  # the export is reused, not made again
        PEACETALKS_CORPUS_DIR=str(defaults.corpus_dir),
    )
    if defaults.embedding_threads:
        env["PEACETALKS_EMBEDDING_THREADS"] = str(defaults.embedding_threads)
    command = [sys.executable, "-m", "assistant"]
    started = time.perf_counter()
    with open(work / "ingest.log", "w") as ingest_log:
        ingest = subprocess.Popen(
            [*command, "ingest", str(defaults.corpus_dir), "--data-dir", str(data_dir), "--quiet"],
            cwd=REPO_ROOT,
            env=env,
            stdout=ingest_log,
            stderr=subprocess.STDOUT,
        )
        ingest_peak = 0.0
        while ingest.poll() is None:  # VmHWM only grows: its last reading is the peak
            ingest_peak = max(ingest_peak, _proc_status(ingest.pid).get("VmHWM", 0.0))
            time.sleep(0.05)
    if ingest.returncode != 0:
        raise RuntimeError(f"`peacetalks ingest` failed: {_tail(work / 'ingest.log')}")
    result: dict[str, Any] = {
        "backend": args.app_backend,
        "ingest_cli_s": time.perf_counter() - started,
        "ingest_cli_peak_rss_mb": ingest_peak,
    }
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log_file = open(work / "app.log", "w")  # noqa: SIM115 - closed in the finally below
    started = time.perf_counter()
    app = subprocess.Popen(
        [*command, "chat", "--data-dir", str(data_dir), "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        while True:
            if app.poll() is not None:
                raise RuntimeError(f"`peacetalks chat` exited with {app.returncode}: {_tail(work / 'app.log')}")
            if time.perf_counter() - started > args.app_timeout:
                raise RuntimeError(f"`peacetalks chat` not up after {args.app_timeout} s: {_tail(work / 'app.log')}")
            try:
                with urllib.request.urlopen(url + "config", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        result["ready_s"] = time.perf_counter() - started
        client = Client(url, verbose=False)
        endpoint, fill = _chat_call(client)
        _, _, answer = _ask_ui(client, endpoint, fill(APP_QUESTIONS[0]))
        result["startup_to_first_answer_s"] = time.perf_counter() - started
        result["first_answer"] = answer[:200]
        firsts, totals = [], []
        for question in APP_QUESTIONS[1 : args.ui_asks + 1]:
            first, total, _ = _ask_ui(client, endpoint, fill(question))
            firsts.append(first)
            totals.append(total)
        result["ui_first_token_p50_ms"] = percentile(firsts, 50)
        result["ui_first_token_max_ms"] = max(firsts, default=0.0)
        result["ui_answer_p50_ms"] = percentile(totals, 50)
        memory = _proc_status(app.pid)
        result["app_rss_mb"] = memory.get("VmRSS")
        result["app_peak_rss_mb"] = memory.get("VmHWM")
        with contextlib.suppress(Exception):
            client.close()
    finally:
        app.terminate()
        try:
            app.wait(timeout=15)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        log_file.close()
    return result


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# ---- retrieval quality per backend -----------------------------------------------------------------------------------


def quality_section(args: argparse.Namespace, defaults: Settings, work: Path) -> dict[str, dict[str, float]]:
    """recall@5 (dense and hybrid) per backend and suite, each backend ingesting into its own fresh store."""
    from assistant.retrieval import Retriever
    from assistant.service import build_assistant
    from evals.runner import _load_suite, _retrieval_scores
    from ingest.pipeline import build_ingest_pipeline

    table: dict[str, dict[str, float]] = {}
    for backend in args.backends:
        embedder = Embedder(None, defaults.embedding_batch_size, backend, args.models_dir, defaults.embedding_threads)
        for suite in args.quality_suites:
            settings = defaults.model_copy(
                update={"data_dir": work / f"quality-{backend}-{suite}", "llm_base_url": None, "llm_model": None}
            )
            try:
                articles, items, root = _load_suite(settings, suite, None)
            except DatasetMissing as error:
                log(f"quality: skipped {suite}: {error}")
                continue
            items = [i for i in items if i.answerable and i.gold][: args.quality_limit]
            assistant = build_assistant(settings, embedder=embedder)
            build_ingest_pipeline(settings, assistant.store, show_progress=False).run_articles(articles, root)
            for mode in ("dense", "hybrid"):
                retriever = Retriever(
                    assistant.store,
                    embedder,
                    mode=mode,
                    candidates=settings.retrieval_candidates,
                    max_per_article=settings.max_passages_per_article,
                )
                scores = [_retrieval_scores(i, retriever.run(i.question, k=10))[1].get("recall@5") for i in items]
                table.setdefault(f"{suite} {mode} recall@5", {})[backend] = float(np.mean([s or 0.0 for s in scores]))
            table.setdefault(f"{suite} questions", {})[backend] = float(len(items))
            done = ", ".join(f"{k} {v[backend]:.3f}" for k, v in table.items() if backend in v and k.startswith(suite))
            log(f"quality {backend} {suite}: {done}")
    return table


# ---- report ------------------------------------------------------------------------------------------------------


def goals(results: dict[str, Any], configured: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, target: float, higher_is_better: bool, where: str) -> None:
        if value is None:
            return
        met = value >= target if higher_is_better else value < target
        out.append({"goal": name, "value": value, "target": target, "met": met, "where": where})

    ingest = [r for r in results.get("ingest", []) if r["system"] == "peacetalks" and r["backend"] == configured]
    if ingest:
        largest = max(ingest, key=lambda r: r["chunks"])
        add("ingest_vs_baseline", largest["vs_baseline"], GOALS["ingest_vs_baseline"], True, largest["corpus"])
        add(
            "ingest_of_compute_bound",
            largest["of_compute_bound"],
            GOALS["ingest_of_compute_bound"],
            True,
            largest["corpus"],
        )
    retrieval = results.get("retrieval", [])
    if retrieval:
        largest = max(retrieval, key=lambda r: r["chunks"])
        add(
            "retrieval_hybrid_p95_ms_at_100k",
            largest["hybrid_p95_ms"],
            GOALS["retrieval_hybrid_p95_ms_at_100k"],
            False,
            f"{largest['chunks']} chunks",
        )
        asked = [r for r in retrieval if "ask_p50_ms" in r]
        if asked:
            row = max(asked, key=lambda r: r["chunks"])
            add("ask_p50_ms_at_10k", row["ask_p50_ms"], GOALS["ask_p50_ms_at_10k"], False, f"{row['chunks']} chunks")
    app = results.get("app") or {}
    add(
        "startup_to_first_answer_s",
        app.get("startup_to_first_answer_s"),
        GOALS["startup_to_first_answer_s"],
        False,
        "bundled corpus",
    )
    add("app_peak_rss_mb", app.get("app_peak_rss_mb"), GOALS["app_peak_rss_mb"], False, "bundled corpus")
    return out


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"peacetalks bench — {meta['started']} — {meta['cpus']} CPUs ({meta['physical_cores']} physical cores), "
        f"load {meta['load_before']} → {meta['load_after']}, backend {meta['configured_backend']}",
    ]
    if cpu := meta.get("cpu"):
        lines.append(f"cpu: {cpu['name']}; {', '.join(cpu['extensions']) or 'no listed vector extensions'}")
    compute = results.get("compute")
    if compute:
        lines.append(
            f"compute: torch float32 {compute['torch_minilm_shape_gflops']:.1f} GFLOP/s (MiniLM shape), numpy 1024² "
            f"{compute['numpy_1024_gflops']:.1f} GFLOP/s; MiniLM ≈ {GFLOP_PER_256_TOKENS:g} GFLOP per 256-token chunk"
        )
    if results.get("ingest"):
        lines += [
            "",
            "INGEST (chunks/s: whole pipeline; embed: embedding only; bound: compute bound from float32 matmul "
            "GFLOP/s measured just before and after each run, and the mean tokens; of bound: embed/s ÷ bound; "
            "per CPU-s: the ratio to plain in chunks per CPU-second, steadier on a busy machine)",
        ]
        head = (
            f"{'corpus':<18}{'system':<26}{'chunks':>7}{'tok':>5}{'chunks/s':>10}{'embed/s':>9}{'bound/s':>9}"
            f"{'of bound':>9}{'vs plain':>9}{'per CPU-s':>10}{'RSS MB':>8}{'resync s':>9}"
        )
        lines.append(head)
        for r in results["ingest"]:
            system = f"{r['system']} ({r['backend']})"
            lines.append(
                f"{r['corpus']:<18}{system:<26}{r['chunks']:>7}{r['mean_tokens']:>5.0f}{r['chunks_per_s']:>10.1f}"
                f"{_fmt(r['embed_chunks_per_s']):>9}{r['compute_bound_chunks_per_s']:>9.1f}"
                f"{r['of_compute_bound'] * 100:>8.0f}%{r['vs_baseline']:>8.2f}×"
                f"{_fmt(r.get('vs_baseline_cpu'), 2):>9}×{r['peak_rss_mb']:>8.0f}"
                f"{_fmt(r.get('resync_unchanged_s')):>9}"
            )
        label = next((r["embeddings"] for r in results["ingest"] if r["system"] == "langchain-plain"), "")
        lines.append(f"(plain = {label} + langchain_chroma.Chroma.add_documents, default Chroma index)")
        for r in results["ingest"]:
            if len(r.get("runs_chunks_per_s") or []) > 1:
                ratios = ", ".join(f"{x:.2f}×" for x in r.get("vs_baseline_runs") or [])
                lines.append(
                    f"({r['corpus']}, {r['system']}: median of {len(r['runs_chunks_per_s'])} interleaved runs, "
                    f"chunks/s {', '.join(f'{x:.1f}' for x in r['runs_chunks_per_s'])}"
                    + (f"; vs plain per run {ratios})" if ratios else ")")
                )
    if results.get("retrieval"):
        lines += ["", f"RETRIEVAL latency, ms (query embedding included; {SYNTHETIC_NOTE})"]
        head = f"{'chunks':>8}" + "".join(f"{m + ' p50':>13}{m + ' p95':>13}" for m in MODES)
        lines.append(head + f"{'ask p50':>10}{'ask p95':>10}{'build s':>9}{'+1 article s':>14}")
        for r in results["retrieval"]:
            cells = "".join(f"{r[f'{m}_p50_ms']:>13.1f}{r[f'{m}_p95_ms']:>13.1f}" for m in MODES)
            lines.append(
                f"{r['chunks']:>8}{cells}{_fmt(r.get('ask_p50_ms')):>10}{_fmt(r.get('ask_p95_ms')):>10}"
                f"{r['build_s']:>9.0f}{_fmt(r.get('add_article_s')):>14}"
            )
        lines.append("(+1 article: ingesting one new bundled article into that store, BM25 rebuild included)")
    app = results.get("app")
    if app:
        lines += ["", f"APP (peacetalks chat over the bundled corpus, {app.get('backend')} backend)"]
        if "error" in app:
            lines.append(f"failed: {app['error']}")
        else:
            lines.append(
                f"start-up to first answer {app['startup_to_first_answer_s']:.1f} s (server up {app['ready_s']:.1f} s)"
                f" | UI first token p50 {app['ui_first_token_p50_ms']:.0f} ms, answer p50 {app['ui_answer_p50_ms']:.0f}"
                f" ms | app RSS {_fmt(app['app_rss_mb'], 0)} MB, peak {_fmt(app['app_peak_rss_mb'], 0)} MB"
                f" | `peacetalks ingest` {app['ingest_cli_s']:.1f} s, peak {app['ingest_cli_peak_rss_mb']:.0f} MB"
            )
    if results.get("quality"):
        backends = sorted({b for row in results["quality"].values() for b in row})
        lines += ["", "QUALITY " + "".join(f"{b:>12}" for b in backends)]
        for metric, row in results["quality"].items():
            lines.append(f"{metric:<28}" + "".join(f"{_fmt(row.get(b), 3):>12}" for b in backends))
    if results.get("goals"):
        lines += ["", "GOALS"]
        for g in results["goals"]:
            mark = "met" if g["met"] else "NOT met"
            lines.append(f"  {g['goal']:<34}{g['value']:>10.2f}  target {g['target']:<8g} {mark:<8} ({g['where']})")
    for note in meta.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


# ---- main --------------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A tiny smoke run (small sizes, few questions)")
    parser.add_argument("--chunks", type=int, nargs="+", default=None, help="Store sizes for retrieval latency")
    parser.add_argument("--ingest-chunks", type=int, default=None, help="Size of the synthetic ingest corpus (0: none)")
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=BACKENDS,
        default=None,
        help="Our backends to ingest with [torch and the configured one]",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="Ingest runs per system, interleaved; the median is reported"
    )
    parser.add_argument("--queries", type=int, default=None, help="Retrieval questions per mode and size")
    parser.add_argument("--asks", type=int, default=None, help="Extractive asks per size")
    parser.add_argument("--ask-max-chunks", type=int, default=10_000, help="Measure ask latency up to this size")
    parser.add_argument("--ui-asks", type=int, default=None, help="Questions through the UI after the first")
    parser.add_argument("--skip", nargs="+", default=[], choices=["ingest", "retrieval", "app"])
    parser.add_argument("--quality", action="store_true", help="Also recall@5 per backend (corpus, msmarco)")
    parser.add_argument("--quality-suites", nargs="+", default=["corpus", "msmarco"])
    parser.add_argument("--quality-limit", type=int, default=None, help="Only the first N questions per suite")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="Folder for the JSON")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=defaults.data_dir,
        help="Data dir whose models/ folder holds (or receives) the ONNX export",
    )
    parser.add_argument("--compute-seconds", type=float, default=1.5)
    parser.add_argument("--app-timeout", type=float, default=180.0)
    parser.add_argument("--keep", action="store_true", help="Keep the working folder (stores, logs)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    args.chunks = args.chunks or ([300] if quick else [1_000, 10_000, 100_000])
    args.ingest_chunks = (100 if quick else 10_000) if args.ingest_chunks is None else args.ingest_chunks
    configured = defaults.embedding_backend
    args.backends = args.backends or ([configured] if quick else list(dict.fromkeys(["torch", configured])))
    args.app_backend = configured
    args.queries = args.queries or (5 if quick else 60)
    args.asks = args.asks or (3 if quick else 30)
    args.ui_asks = args.ui_asks if args.ui_asks is not None else (2 if quick else 5)
    args.models_dir = defaults.embedding_cache_dir or args.data_dir / "models"
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    apply_offline_environment()
    defaults = Settings(llm_base_url=None, llm_model=None)
    configured = defaults.embedding_backend
    args.models_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "cpus": os.cpu_count(),
            "physical_cores": physical_cores(),
            "cpu": cpu_model(),
            "load_before": load(),
            "configured_backend": configured,
            "backends": args.backends,
            "quick": args.quick,
            "argv": sys.argv[1:],
            "python": sys.version.split()[0],
            "notes": [],
        }
    }
    work = Path(tempfile.mkdtemp(prefix="peacetalks-bench-"))
    try:
        log(f"working in {work}; loading the {configured} embedder (ONNX backends export once, to {args.models_dir})")
        started = time.perf_counter()
        embedder = Embedder(
            defaults.embedding_model_path,
            defaults.embedding_batch_size,
            configured,
            args.models_dir,
            defaults.embedding_threads,
        )
        results["meta"]["embedder_load_s"] = time.perf_counter() - started
        for backend in args.backends:  # export every backend asked before anything is timed
            if backend != "torch" and backend != configured:
                Embedder(None, defaults.embedding_batch_size, backend, args.models_dir, defaults.embedding_threads)
        results["compute"] = matmul_gflops(args.compute_seconds, defaults.embedding_threads)
        log(f"compute: {results['compute']}")
        if "ingest" not in args.skip:
            results["ingest"] = ingest_section(args, defaults, embedder, work)
        if "retrieval" not in args.skip:
            results["retrieval"] = retrieval_section(args, defaults, embedder, work)
        if "app" not in args.skip:
            try:
                results["app"] = app_section(args, defaults, work)
            except Exception as error:  # recorded, so the other sections' figures are not lost
                results["app"] = {"backend": configured, "error": f"{type(error).__name__}: {error}"}
        if args.quality:
            results["quality"] = quality_section(args, defaults, work)
        end = matmul_gflops(args.compute_seconds, defaults.embedding_threads)
        results["compute"]["end_torch_minilm_shape_gflops"] = end["torch_minilm_shape_gflops"]
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["meta"]["load_after"] = load()
    results["meta"]["bench_peak_rss_mb"] = peak_rss_mb()
    notes = results["meta"]["notes"]
    notes.append(SYNTHETIC_NOTE)
    if max(results["meta"]["load_before"][0], results["meta"]["load_after"][0]) > 0.5 * (os.cpu_count() or 1):
        notes.append("the machine was busy (load average above half the CPUs): figures are slower than on a quiet one")
    results["goals"] = goals(results, configured)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        kind, spec_file = args.worker
        apply_offline_environment()
        spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
        Path(spec["result"]).write_text(json.dumps(WORKERS[kind](spec)), encoding="utf-8")
        return 0
    results = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    payload = json.dumps(results, indent=1, default=str)
    target.write_text(payload, encoding="utf-8")
    (args.out / "latest.json").write_text(payload, encoding="utf-8")
    print(render(results))
    print(f"\nwritten: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
