"""Shared vocabulary of peacetalks: the records that flow from an article on disk to an answer on screen.

Plain dataclasses (no behaviour beyond small conveniences) so that every component can be tested alone and every
object can be turned into JSON for ``ask --json``, the UI and the evaluation tools.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

UNDATED = -1


def published_day(iso_date: str | None) -> int:
    """ "2025-05-11" -> 20250511, for Chroma range filters; ``UNDATED`` when the date is unknown."""
    if not iso_date or len(iso_date) < 10:
        return UNDATED
    try:
        return int(iso_date[:10].replace("-", ""))
    except ValueError:
        return UNDATED


@dataclass(frozen=True)
class ArticleMetadata:
    """Provenance of one article, from its front matter (Markdown) or what the loader could infer."""

    title: str
    publisher: str | None = None
    author: str | None = None
    published: str | None = None  # ISO date "YYYY-MM-DD", or None when unknown
    source: str | None = None  # URL or a description of where the text comes from
    license: str | None = None
    excerpt: bool = False


@dataclass(frozen=True)
class Article:
    """One loaded document: its stable id (path relative to the ingested root), its text and its provenance."""

    article_id: str
    path: str  # absolute path on disk when it was loaded
    text: str
    metadata: ArticleMetadata
    content_sha256: str  # hash of the file's bytes, so unchanged files are skipped without re-chunking


@dataclass(frozen=True)
class Chunk:
    """A token-sized window of an article; ``start``/``end`` are character offsets into ``Article.text``."""

    chunk_id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int
    metadata: ArticleMetadata

    def to_store_metadata(self) -> dict[str, str | int | float | bool]:
        """Flat metadata for Chroma (no None values: Chroma rejects them)."""
        m = self.metadata
        return {
            "article_id": self.article_id,
            "chunk_index": self.index,
            "start": self.start,
            "end": self.end,
            "title": m.title,
            "publisher": m.publisher or "",
            "author": m.author or "",
            "published": m.published or "",
            # YYYYMMDD as an integer for range filters; UNDATED (-1) marks an article with no known date.
            "published_day": published_day(m.published),
            "source_url": m.source or "",
            "license": m.license or "",
            "excerpt": m.excerpt,
        }

    @staticmethod
    def from_store(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        """Rebuild a chunk from what the store returns."""
        return Chunk(
            chunk_id=chunk_id,
            article_id=str(meta.get("article_id", "")),
            index=int(meta.get("chunk_index", 0)),
            text=text,
            start=int(meta.get("start", 0)),
            end=int(meta.get("end", 0)),
            metadata=ArticleMetadata(
                title=str(meta.get("title", "")),
                publisher=str(meta.get("publisher") or "") or None,
                author=str(meta.get("author") or "") or None,
                published=str(meta.get("published") or "") or None,
                source=str(meta.get("source_url") or "") or None,
                license=str(meta.get("license") or "") or None,
                excerpt=bool(meta.get("excerpt", False)),
            ),
        )


@dataclass(frozen=True)
class Evidence:
    """A retrieved chunk with its similarity score (cosine, higher is better) and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int


@dataclass(frozen=True)
class Citation:
    """What a ``[n]`` in an answer points to: a stored chunk and the exact quoted text inside it.

    ``quote_start``/``quote_end`` are character offsets of ``quote`` in the article, so the UI can highlight it.
    """

    number: int
    chunk_id: str
    article_id: str
    title: str
    publisher: str | None
    published: str | None
    source: str | None
    passage: str
    passage_start: int
    passage_end: int
    quote: str
    quote_start: int
    quote_end: int
    # Every quoted span of this passage in the answer (article offsets), for highlighting.
    highlights: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class SentenceCheck:
    """The verdict of citation verification on one sentence of an answer.

    ``start``/``end`` are character offsets of the sentence in ``Answer.text`` (markers included), so a UI can mark
    it. ``citations`` are the numbers the sentence still cites after verification; ``dropped`` are numbers it cited
    whose passages support nothing in it (removed from the text). ``reason`` says why an unsupported sentence failed.
    """

    text: str
    start: int
    end: int
    supported: bool
    score: float
    citations: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    reason: str = ""


@dataclass
class Timings:
    """Wall-clock milliseconds for each step of answering."""

    retrieve_ms: float = 0.0
    answer_ms: float = 0.0
    total_ms: float = 0.0
    verify_ms: float = 0.0  # citation verification, part of total_ms


@dataclass
class Answer:
    """The result of asking a question: text with ``[n]`` markers, the citations they resolve to, and context."""

    question: str
    text: str
    citations: list[Citation]
    evidence: list[Evidence]
    abstained: bool
    backend: str
    timings: Timings = field(default_factory=Timings)
    notices: list[str] = field(default_factory=list)
    retrieval_query: str | None = None
    # For questions about the latest state: the date of the newest dated source the answer cites.
    as_of: str | None = None
    # Citation verification: one check per factual sentence, and the share of them that their citations support
    # (None when nothing was checked, e.g. an abstention).
    checks: list[SentenceCheck] = field(default_factory=list)
    groundedness: float | None = None

    @property
    def unsupported(self) -> list[SentenceCheck]:
        """The sentences verification could not back with their citations."""
        return [c for c in self.checks if not c.supported]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the schema of ``ask --json`` and ``ask --batch``."""
        out = asdict(self)
        out["evidence"] = [
            {
                "rank": e.rank,
                "score": round(e.score, 4),
                "chunk_id": e.chunk.chunk_id,
                "article_id": e.chunk.article_id,
                "title": e.chunk.metadata.title,
                "published": e.chunk.metadata.published,
                "start": e.chunk.start,
                "end": e.chunk.end,
                "text": e.chunk.text,
            }
            for e in self.evidence
        ]
        return out
