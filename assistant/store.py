"""The one place that talks to Chroma and to the ingest records.

Chroma holds chunk vectors, texts and metadata. The ingest records live in one SQLite file beside it:
LangChain's ``SQLRecordManager`` (which chunk hashes exist, per article, for incremental sync) and our ``articles``
table (one row per ingested file: its hash, so unchanged files are skipped before chunking; and its folder, so a
re-sync of that folder can delete what it no longer holds).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import chromadb
import numpy as np
from chromadb.api.collection_configuration import CreateHNSWConfiguration
from chromadb.config import Settings as ChromaSettings

from assistant.config import Settings
from assistant.embedding import Embedder, LangChainEmbeddings
from assistant.keyword import KeywordIndex
from assistant.models import Chunk, Evidence

# HNSW index settings, set explicitly. Chroma's defaults (M=16, ef_construction=100, ef_search=100) lost recall in
# a test here; at our sizes (thousands to ~100k chunks of 384 dims) doubling the graph degree and raising both
# ef values costs a few ms per query and a little memory, and keeps the approximate search close to exact.
HNSW_CONFIGURATION: CreateHNSWConfiguration = {
    "space": "cosine",
    "max_neighbors": 32,
    "ef_construction": 200,
    "ef_search": 128,
}
SCHEMA_VERSION = 1


class StoreError(RuntimeError):
    """A problem with the store that the user can act on; the message says what to do."""


class NotIngestedError(StoreError):
    """The store is empty or absent."""


@dataclass(frozen=True)
class ArticleRecord:
    """One row of the ``articles`` table."""

    article_id: str
    root: str
    path: str
    content_sha256: str
    config_fingerprint: str
    title: str
    publisher: str
    published: str
    license: str
    source: str
    n_chunks: int
    ingested_at: str


_ARTICLES_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    article_id TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    config_fingerprint TEXT NOT NULL,
    title TEXT NOT NULL,
    publisher TEXT NOT NULL,
    published TEXT NOT NULL,
    license TEXT NOT NULL,
    source TEXT NOT NULL,
    n_chunks INTEGER NOT NULL,
    ingested_at TEXT NOT NULL
)
"""


class ChunkStore:
    """Chroma collection + record manager + article table, opened from one ``Settings``."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.client = chromadb.PersistentClient(
            path=str(settings.chroma_dir),
            settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
        )
        self.collection = self.client.get_or_create_collection(
            name=settings.collection,
            configuration={"hnsw": HNSW_CONFIGURATION},
            metadata={
                "embedding_model": embedder.model_id,
                "embedding_dim": embedder.dimension,
                "schema_version": SCHEMA_VERSION,
            },
            embedding_function=None,  # we always pass vectors; Chroma must never embed (it would download a model)
        )
        self._check_compatible()
        self._records_url = f"sqlite:///{settings.records_db}"
        with self._articles_db() as db:
            db.execute(_ARTICLES_SCHEMA)
        self._record_manager: Any = None
        self._vector_store: Any = None
        self._vocabulary: tuple[str, set[str]] | None = None
        self._keyword = KeywordIndex(settings.data_dir / "bm25")

    def _check_compatible(self) -> None:
        """Refuse a store built with another embedding model, with an explanation instead of a dimension error."""
        meta = self.collection.metadata or {}
        model, dim = meta.get("embedding_model"), meta.get("embedding_dim")
        if model is not None and (model != self.embedder.model_id or dim != self.embedder.dimension):
            raise StoreError(
                f"The store in {self.settings.data_dir} was built with embedding model {model} ({dim} dims), "
                f"but this run uses {self.embedder.model_id} ({self.embedder.dimension} dims). "
                "Use the same model, or point PEACETALKS_DATA_DIR elsewhere / run `peacetalks reset` and re-ingest."
            )

    # ---- ingest side -------------------------------------------------------------------------------------------

    @property
    def record_manager(self) -> Any:
        """LangChain's SQL record manager (created lazily: only ingest needs it)."""
        if self._record_manager is None:
            from langchain_classic.indexes import SQLRecordManager

            self._record_manager = SQLRecordManager(f"chroma/{self.settings.collection}", db_url=self._records_url)
            self._record_manager.create_schema()
        return self._record_manager

    @property
    def vector_store(self) -> Any:
        """LangChain's Chroma wrapper over our collection, embedding through our model."""
        if self._vector_store is None:
            from langchain_chroma import Chroma

            self._vector_store = Chroma(
                client=self.client,
                collection_name=self.settings.collection,
                embedding_function=LangChainEmbeddings(self.embedder),
                collection_configuration={"hnsw": HNSW_CONFIGURATION},
            )
        return self._vector_store

    @contextmanager
    def _articles_db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.settings.records_db, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def get_article(self, article_id: str) -> ArticleRecord | None:
        with self._articles_db() as db:
            row = db.execute("SELECT * FROM articles WHERE article_id = ?", (article_id,)).fetchone()
        return ArticleRecord(*row) if row else None

    def list_articles(self) -> list[ArticleRecord]:
        with self._articles_db() as db:
            rows = db.execute("SELECT * FROM articles ORDER BY article_id").fetchall()
        return [ArticleRecord(*row) for row in rows]

    def put_article(self, record: ArticleRecord) -> None:
        with self._articles_db() as db:
            db.execute(
                "INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.article_id,
                    record.root,
                    record.path,
                    record.content_sha256,
                    record.config_fingerprint,
                    record.title,
                    record.publisher,
                    record.published,
                    record.license,
                    record.source,
                    record.n_chunks,
                    record.ingested_at,
                ),
            )

    def delete_article(self, article_id: str) -> int:
        """Remove an article's chunks from Chroma, its keys from the record manager, then its row. Returns chunks."""
        keys = self.record_manager.list_keys(group_ids=[article_id])
        if keys:
            self.collection.delete(ids=keys)
            self.record_manager.delete_keys(keys)
        with self._articles_db() as db:
            db.execute("DELETE FROM articles WHERE article_id = ?", (article_id,))
        return len(keys)

    # ---- query side --------------------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.collection.count())

    def query(self, vector: Any, k: int, where: dict[str, Any] | None = None) -> list[Evidence]:
        """Nearest chunks to a query vector; score is cosine similarity (1 - cosine distance)."""
        n = self.count()
        if n == 0:
            raise NotIngestedError(
                f"Nothing has been ingested into {self.settings.data_dir} yet: run `peacetalks ingest` first."
            )
        result = self.collection.query(
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=min(k, n),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        docs = (result.get("documents") or [[]])[0]
        metas = (result.get("metadatas") or [[]])[0]
        dists = (result.get("distances") or [[]])[0]
        return [
            Evidence(chunk=Chunk.from_store(cid, doc or "", dict(meta or {})), score=1.0 - float(dist), rank=i + 1)
            for i, (cid, doc, meta, dist) in enumerate(zip(ids, docs, metas, dists, strict=True))
        ]

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        """Chunks by id (used to resolve citations and by tests)."""
        if not ids:
            return []
        result = self.collection.get(ids=ids, include=["documents", "metadatas"])
        docs = result.get("documents") or []
        metas = result.get("metadatas") or []
        return [
            Chunk.from_store(cid, doc or "", dict(meta or {}))
            for cid, doc, meta in zip(result["ids"], docs, metas, strict=True)
        ]

    def vocabulary(self) -> set[str]:
        """Every content term of the stored chunks, titles and publishers (recomputed when the store changes).

        Lets the answerer tell "the corpus never mentions X" from "retrieval missed X".
        """
        with self._articles_db() as db:
            count, last = db.execute("SELECT COUNT(*), MAX(ingested_at) FROM articles").fetchone()
        version = f"{self.count()}:{count}:{last}"
        if self._vocabulary is None or self._vocabulary[0] != version:
            from assistant.answering.lexical import content_terms

            terms: set[str] = set()
            got = self.collection.get(include=["documents", "metadatas"])
            for doc, meta in zip(got["documents"] or [], got["metadatas"] or [], strict=True):
                terms.update(
                    content_terms(f"{doc} {(meta or {}).get('title', '')} {(meta or {}).get('publisher', '')}")
                )
            self._vocabulary = (version, terms)
        return self._vocabulary[1]

    @property
    def keyword(self) -> KeywordIndex:
        """The BM25 index over the same chunks (rebuilt by ``rebuild_keyword_index`` after each ingest)."""
        return self._keyword

    def rebuild_keyword_index(self) -> None:
        """Rebuild BM25 from Chroma's own documents, so keyword and dense search always see the same chunks."""
        got = self.collection.get(include=["documents", "metadatas"])
        self._keyword.rebuild(
            list(got["ids"]), list(got["documents"] or []), [dict(m or {}) for m in got["metadatas"] or []]
        )

    def get_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored embeddings by chunk id (to score keyword-only hits by cosine like dense ones)."""
        if not ids:
            return {}
        got = self.collection.get(ids=ids, include=["embeddings"])
        embeddings = got.get("embeddings")
        if embeddings is None:
            return {}
        return {cid: np.asarray(vec, dtype=np.float32) for cid, vec in zip(got["ids"], embeddings, strict=True)}

    def all_chunk_ids(self) -> list[str]:
        return list(self.collection.get(include=[])["ids"])
