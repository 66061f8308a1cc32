"""The analyst views' reading of the corpus: articles as the store holds them, and their sentences with offsets.

The views are built from the store, not from the files on disk, so they always describe exactly what the assistant
can cite: every quote they show is a sentence of a stored chunk, with its article offsets and its chunk id.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from assistant.models import Chunk
from assistant.store import ChunkStore
from assistant.text import split_sentences, strip_footnotes

_ANAPHORA = re.compile(r"^(It|Its|This|These|They|Their|He|She|His|Her|Such)\b")


@dataclass(frozen=True)
class ArticleInfo:
    """An ingested article's identity for the views: its hash decides whether its extraction is reused."""

    article_id: str
    sha: str  # "<content sha256>:<ingest config fingerprint>": re-chunking changes the chunk ids the views cite
    title: str
    publisher: str
    published: str | None


@dataclass(frozen=True)
class Source:
    """A verbatim sentence of a stored article that a statement or an event rests on (what a citation shows)."""

    article_id: str
    chunk_id: str
    title: str
    publisher: str | None
    published: str | None
    quote: str  # exactly article.text[start:end]
    start: int
    end: int

    @property
    def shown(self) -> str:
        """The quote as displayed: wiki footnote markers dropped so they do not read as our citations."""
        return strip_footnotes(self.quote).strip()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Source:
        return Source(**data)


@dataclass(frozen=True)
class Unit:
    """A sentence of an article, or an anaphoric sentence joined to the one before it ("It proposed that ...")."""

    source: Source
    index: int  # position of the (last) sentence in the article
    joined: bool = False

    @property
    def text(self) -> str:
        return self.source.shown


def list_articles(store: ChunkStore) -> list[ArticleInfo]:
    return [
        ArticleInfo(
            r.article_id, f"{r.content_sha256}:{r.config_fingerprint}", r.title, r.publisher, r.published or None
        )
        for r in store.list_articles()
    ]


def article_chunks(store: ChunkStore, article_id: str) -> list[Chunk]:
    """The article's stored chunks in order."""
    return sorted(store.article_chunks(article_id), key=lambda c: (c.start, c.index))


def article_sentences(chunks: list[Chunk]) -> list[Source]:
    """Every sentence of the article once (chunks overlap), in order, each with the first chunk that holds it."""
    seen: dict[tuple[int, int], Source] = {}
    for chunk in chunks:
        meta = chunk.metadata
        for span in split_sentences(chunk.text, offset=chunk.start):
            key = (span.start, span.end)
            if key not in seen:
                seen[key] = Source(
                    chunk.article_id,
                    chunk.chunk_id,
                    meta.title,
                    meta.publisher,
                    meta.published,
                    span.text,
                    span.start,
                    span.end,
                )
    return [seen[k] for k in sorted(seen)]


def units(sentences: list[Source], chunk_text: dict[str, Chunk]) -> list[Unit]:
    """Sentences, plus each anaphoric one joined with the sentence before it when one chunk holds both."""
    out: list[Unit] = []
    for i, sentence in enumerate(sentences):
        out.append(Unit(sentence, i))
        if i > 0 and _ANAPHORA.match(sentence.quote):
            prev = sentences[i - 1]
            chunk = chunk_text.get(prev.chunk_id)
            if chunk and chunk.start <= prev.start and sentence.end <= chunk.end:
                joined = chunk.text[prev.start - chunk.start : sentence.end - chunk.start]
                if "\n\n" in joined:  # a new paragraph's "This ..." refers to the whole paragraph before, not one line
                    continue
                out.append(
                    Unit(
                        Source(
                            prev.article_id,
                            prev.chunk_id,
                            prev.title,
                            prev.publisher,
                            prev.published,
                            joined,
                            prev.start,
                            sentence.end,
                        ),
                        i,
                        joined=True,
                    )
                )
    return out
