"""An ingested article's text, rebuilt from its stored chunks, so the UI can show a cited passage in context.

The chunks are exact slices of the article (``chunk.text == article.text[start:end]``) and overlap, so laying them
out by offset gives back the article without needing its file (which may have moved, or be a PDF). The rare gap
between two chunks (whitespace the chunker trimmed) is filled with newlines of the same length, which keeps every
offset, and so every highlight, exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.models import Chunk
from assistant.store import ChunkStore


@dataclass(frozen=True)
class ArticleText:
    """The text of one article from offset ``start`` (where its first chunk begins) to ``end``."""

    article_id: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def slice(self, start: int, end: int) -> str:
        """The article's characters [start, end), in article offsets."""
        return self.text[max(start - self.start, 0) : max(end - self.start, 0)]


def article_from_chunks(article_id: str, chunks: list[Chunk]) -> ArticleText | None:
    """Lay chunks out by offset; None when there are none."""
    if not chunks:
        return None
    ordered = sorted(chunks, key=lambda c: (c.start, c.end))
    pieces: list[str] = []
    cursor = ordered[0].start
    for chunk in ordered:
        if chunk.start > cursor:
            pieces.append("\n" * (chunk.start - cursor))
            cursor = chunk.start
        if chunk.end > cursor:
            pieces.append(chunk.text[cursor - chunk.start :])
            cursor = chunk.end
    return ArticleText(article_id, "".join(pieces), ordered[0].start)


def load_article_text(store: ChunkStore, article_id: str) -> ArticleText | None:
    """The stored text of one article (None when it is not in the store)."""
    chunks = store.article_chunks(article_id)  # through the store, so a Chroma outage is a clear StoreError
    return article_from_chunks(article_id, chunks)
