"""Find the passages most likely to answer a question: dense similarity over the Chroma store.

``DenseRetriever.run(query, k, filters) -> [Evidence]``. The retrieval issue adds keyword search and fusion behind
the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.embedding import Embedder
from assistant.models import Evidence
from assistant.store import ChunkStore


@dataclass(frozen=True)
class RetrievalFilters:
    """Metadata filters applied inside Chroma (exact match on publisher or article)."""

    publisher: str | None = None
    article_id: str | None = None

    def to_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.publisher:
            clauses.append({"publisher": self.publisher})
        if self.article_id:
            clauses.append({"article_id": self.article_id})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class DenseRetriever:
    """Embeds the query with the same model as the chunks and asks Chroma for the nearest ones."""

    def __init__(self, store: ChunkStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def run(self, query: str, k: int, filters: RetrievalFilters | None = None) -> list[Evidence]:
        vector = self.embedder.embed_query(query)
        return self.store.query(vector, k=k, where=filters.to_where() if filters else None)
