"""Keyword search: BM25 (bm25s) over the stored chunks, for the names, dates and numbers embeddings blur.

The index is derived from Chroma's own documents (so the two never drift) and cached in the data dir; each build
is tagged with the corpus version it was built from (a tag that ingest bumps in Chroma, see ``ChunkStore``), so a
process knows when its copy is stale. A new build is written to its own folder and then published by replacing one
small ``CURRENT`` file, so a reader never sees half an index; queries load it once and reload only when a newer
build has been published. Each build also keeps every chunk's terms (``terms.npz``), so the next build, after an
ingest, tokenises only the chunks whose text it has not seen (tokenising was 70 % of a rebuild).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.lexical import content_terms


@dataclass
class _Loaded:
    version: str
    retriever: Any
    ids: list[str]
    meta: list[dict[str, Any]]
    vocab: dict[str, int]
    corpus_version: str | None
    terms: set[str]
    recipe: str | None = None
    position: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class KeywordHits:
    """One BM25 search: the top hits, and the score of any other chunk for the same query (0 where it shares no
    term, or where the filter rejects it), so a fusion can weigh every candidate on both lists."""

    top: list[tuple[str, float]]
    scores: np.ndarray | None = None
    position: dict[str, int] = field(default_factory=dict)

    def score_of(self, chunk_id: str) -> float:
        at = self.position.get(chunk_id)
        return 0.0 if self.scores is None or at is None else float(self.scores[at])


# What a build indexes; a build made with another recipe is rebuilt as if the corpus had changed. Each chunk is
# indexed with its article's title in front: questions name documents ("the Bürgenstock communiqué", "the Minsk
# Protocol") that their passages rarely repeat. Measured on corpus_qa: BM25 recall@5 0.842 -> 0.865, hybrid
# 0.871 -> 0.895 (`peacetalks eval --retrievers`).
INDEX_RECIPE = "title+text/1"


TERMS_FILE = "terms.npz"


def _text_key(text: str) -> tuple[int, int]:
    """A 128-bit BLAKE2b digest of the text, as two integers. A cryptographic hash, not a checksum: an uploaded
    article must not be able to craft a text that collides with another chunk's and inherit its terms."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
    return int.from_bytes(digest[:8], "little", signed=True), int.from_bytes(digest[8:], "little", signed=True)


def _save_terms(path: Path, documents: list[str], terms: list[list[str]]) -> None:
    """Every document's terms as indices into one vocabulary, keyed by the document's digest."""
    vocab: dict[str, int] = {}
    flat = [vocab.setdefault(term, len(vocab)) for doc in terms for term in doc]
    keys = np.array([_text_key(d) for d in documents], dtype=np.int64).reshape(-1, 2)
    np.savez(
        path,
        keys=keys,
        offsets=np.cumsum([0] + [len(doc) for doc in terms], dtype=np.int64),
        flat=np.array(flat, dtype=np.int32),
        vocab=np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8),  # terms hold no newline
    )


def _load_terms(path: Path) -> dict[tuple[int, int], list[str]]:
    with np.load(path, allow_pickle=False) as saved:
        keys, offsets, flat = saved["keys"], saved["offsets"], saved["flat"]
        vocab = saved["vocab"].tobytes().decode("utf-8").split("\n")
    return {
        (int(high), int(low)): [vocab[i] for i in flat[offsets[row] : offsets[row + 1]].tolist()]
        for row, (high, low) in enumerate(keys.tolist())
    }


class KeywordIndex:
    """``search(query, k) -> [(chunk_id, bm25 score)]`` over all chunks; ``rebuild(...)`` after ingest."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: _Loaded | None = None

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """The same normalisation as the answerer's lexical scoring (stems, aliases, stop words dropped)."""
        return content_terms(text)

    def rebuild(
        self, ids: list[str], texts: list[str], metas: list[dict[str, Any]], corpus_version: str | None = None
    ) -> None:
        """Build from every stored chunk and publish atomically; old versions are removed.

        ``corpus_version`` tags the build with the store state it was made from. Besides BM25, the build keeps the
        content terms of the chunks' titles and publishers, so ``vocabulary()`` covers texts, titles and publishers.
        """
        import bm25s

        self.directory.mkdir(parents=True, exist_ok=True)
        version = uuid.uuid4().hex[:12]
        target = self.directory / version
        target.mkdir()
        if ids:
            documents = [f"{m.get('title', '')}\n{t}" for t, m in zip(texts, metas, strict=True)]
            terms = self._terms_of(documents)
            retriever = bm25s.BM25()
            retriever.index([t or ["∅"] for t in terms], show_progress=False)
            retriever.save(str(target), show_progress=False)
            _save_terms(target / TERMS_FILE, documents, terms)
        labels = {f"{m.get('title', '')} {m.get('publisher', '')}" for m in metas}
        extra_terms = sorted({term for label in labels for term in self.tokenize(label)})
        keep = [
            {
                "article_id": str(m.get("article_id", "")),
                "publisher": str(m.get("publisher", "")),
                "published_day": int(m.get("published_day", -1)),
            }
            for m in metas
        ]
        (target / "chunks.json").write_text(
            json.dumps(
                {
                    "ids": ids,
                    "meta": keep,
                    "corpus_version": corpus_version,
                    "extra_terms": extra_terms,
                    "recipe": INDEX_RECIPE,
                }
            ),
            encoding="utf-8",
        )
        tmp = self.directory / f"CURRENT.{version}"
        tmp.write_text(version, encoding="utf-8")
        os.replace(tmp, self.directory / "CURRENT")
        for old in self.directory.iterdir():
            if old.is_dir() and old.name != version:
                shutil.rmtree(old, ignore_errors=True)

    def _terms_of(self, documents: list[str]) -> list[list[str]]:
        """Each document's terms: reused from the published build where it holds the same text (by digest, under
        the same recipe), tokenised otherwise."""
        known: dict[tuple[int, int], list[str]] = {}
        try:
            version = (self.directory / "CURRENT").read_text(encoding="utf-8").strip()
            folder = self.directory / version
            if json.loads((folder / "chunks.json").read_text(encoding="utf-8")).get("recipe") == INDEX_RECIPE:
                known = _load_terms(folder / TERMS_FILE)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # none yet, or unreadable: tokenise all
            known = {}
        return [known.get(_text_key(d)) or self.tokenize(d) for d in documents]

    def _current(self) -> _Loaded | None:
        """The published build, loaded (again only when a newer one has been published since)."""
        pointer = self.directory / "CURRENT"
        for attempt in range(3):
            try:
                version = pointer.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                return None
            loaded = self._loaded
            if loaded is not None and loaded.version == version:
                return loaded
            try:
                loaded = self._load(version)
            except FileNotFoundError:  # replaced and removed by a newer build between the two reads: read again
                if attempt == 2:
                    raise
                continue
            self._loaded = loaded
            return loaded
        return None  # pragma: no cover

    def _load(self, version: str) -> _Loaded:
        import bm25s

        folder = self.directory / version
        chunks = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(folder), show_progress=False) if chunks["ids"] else None
        vocab = dict(retriever.vocab_dict) if retriever is not None else {}
        terms = (set(vocab) | set(chunks.get("extra_terms", []))) - {"∅", ""}
        return _Loaded(
            version,
            retriever,
            chunks["ids"],
            chunks["meta"],
            vocab,
            chunks.get("corpus_version"),
            terms,
            chunks.get("recipe"),
            {cid: i for i, cid in enumerate(chunks["ids"])},
        )

    @property
    def corpus_version(self) -> str | None:
        """The corpus version the published build was made from (None: no build, one from before tags, or one
        made with another ``INDEX_RECIPE``, so that the store rebuilds it)."""
        loaded = self._current()
        return loaded.corpus_version if loaded is not None and loaded.recipe == INDEX_RECIPE else None

    def chunk_ids(self) -> list[str]:
        """The chunk ids of the published build (to check it against the store)."""
        loaded = self._current()
        return list(loaded.ids) if loaded is not None else []

    def vocabulary(self) -> set[str]:
        """Every content term of the indexed chunks' texts, titles and publishers."""
        loaded = self._current()
        return loaded.terms if loaded is not None else set()

    @property
    def ready(self) -> bool:
        return (self.directory / "CURRENT").exists()

    def search(
        self, query: str, k: int, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25; ``where`` keeps only chunks whose metadata it accepts."""
        return self.search_scored(query, k, where).top

    def search_scored(self, query: str, k: int, where: Callable[[dict[str, Any]], bool] | None = None) -> KeywordHits:
        """``search``, keeping every chunk's score for this query (one pass over the index computes them all)."""
        loaded = self._current()
        if loaded is None or loaded.retriever is None:
            return KeywordHits([])
        tokens = [t for t in self.tokenize(query) if t in loaded.vocab]
        if not tokens:
            return KeywordHits([])
        mask = None
        if where:
            mask = np.array([where(m) for m in loaded.meta], dtype=np.float32)
            if not mask.any():
                return KeywordHits([])
        scores = np.asarray(loaded.retriever.get_scores(tokens, weight_mask=mask), dtype=np.float32)
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        best = best[np.argsort(-scores[best], kind="stable")]
        top = [(loaded.ids[int(d)], float(scores[d])) for d in best if scores[d] > 0]
        return KeywordHits(top, scores, loaded.position)
