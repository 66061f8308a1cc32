"""Find the passages most likely to answer a question: dense similarity and BM25 keywords, fused.

``Retriever.run(query, k, filters) -> [Evidence]``. In ``hybrid`` mode (the default) the dense (Chroma) and
keyword (BM25) candidate lists are merged by reciprocal rank fusion (Cormack et al. 2009: score = Σ 1/(60 + rank)),
then a per-article cap keeps one article from filling every slot when others also match. Each Evidence keeps the
chunk's cosine similarity to the query as its ``score`` (keyword-only hits are scored from their stored vectors),
so the answerer's relevance thresholds mean the same thing in every mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from assistant.embedding import Embedder
from assistant.models import Chunk, Evidence
from assistant.store import ChunkStore

RetrievalMode = Literal["hybrid", "dense", "keyword"]
RRF_K = 60


@dataclass(frozen=True)
class RetrievalFilters:
    """Metadata filters applied inside both indexes (exact match on publisher or article)."""

    publisher: str | None = None
    article_id: str | None = None

    def fields(self) -> dict[str, str]:
        out = {}
        if self.publisher:
            out["publisher"] = self.publisher
        if self.article_id:
            out["article_id"] = self.article_id
        return out

    def to_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = [{key: value} for key, value in self.fields().items()]
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Merge ranked id lists: each id scores Σ 1/(k + rank) over the lists it appears in (rank from 1)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


def cap_per_article(ids: list[str], article_of: dict[str, str], k: int, cap: int) -> list[str]:
    """The first k ids with at most ``cap`` per article; slots left over are refilled in order (no cap)."""
    picked: list[str] = []
    overflow: list[str] = []
    counts: dict[str, int] = {}
    for cid in ids:
        article = article_of[cid]
        if counts.get(article, 0) < cap:
            picked.append(cid)
            counts[article] = counts.get(article, 0) + 1
        else:
            overflow.append(cid)
        if len(picked) == k:
            return picked
    return picked + overflow[: k - len(picked)]


class Retriever:
    """Dense, keyword or hybrid retrieval over one store."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        mode: RetrievalMode = "hybrid",
        candidates: int = 30,
        max_per_article: int = 3,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.mode = mode
        self.candidates = candidates
        self.max_per_article = max_per_article

    def run(self, query: str, k: int, filters: RetrievalFilters | None = None) -> list[Evidence]:
        filters = filters or RetrievalFilters()
        vector = self.embedder.embed_query(query)
        if self.mode == "dense" or not self.store.keyword.ready:
            return self.store.query(vector, k=k, where=filters.to_where())
        pool = max(self.candidates, k)
        dense = self.store.query(vector, k=pool, where=filters.to_where()) if self.mode == "hybrid" else []
        keyword = self.store.keyword.search(query, pool, filters.fields())
        if self.mode == "keyword":
            fused = [cid for cid, _ in keyword]
        else:
            fused = [
                cid for cid, _ in reciprocal_rank_fusion([[e.chunk.chunk_id for e in dense], [c for c, _ in keyword]])
            ]
        chunks: dict[str, Chunk] = {e.chunk.chunk_id: e.chunk for e in dense}
        cosine: dict[str, float] = {e.chunk.chunk_id: e.score for e in dense}
        missing = [cid for cid in fused if cid not in chunks]
        if missing:
            for chunk in self.store.get_chunks(missing):
                chunks[chunk.chunk_id] = chunk
            for cid, vec in self.store.get_vectors(missing).items():
                cosine[cid] = float(np.dot(vec, vector))
        fused = [cid for cid in fused if cid in chunks]
        article_of = {cid: chunks[cid].article_id for cid in fused}
        top = cap_per_article(fused, article_of, k, self.max_per_article)
        return [Evidence(chunk=chunks[cid], score=cosine.get(cid, 0.0), rank=i + 1) for i, cid in enumerate(top)]
