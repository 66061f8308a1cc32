"""Keyword search: BM25 (bm25s) over the stored chunks, for the names, dates and numbers embeddings blur.

The index is derived from Chroma's own documents (so the two never drift) and cached in the data dir; each build
is tagged with the corpus version it was built from (a tag that ingest bumps in Chroma, see ``ChunkStore``), so a
process knows when its copy is stale. A new build is written to its own folder and then published by replacing one
small ``CURRENT`` file, so a reader never sees half an index; queries load it once and reload only when a newer
build has been published. Each build also keeps every chunk's terms (``terms.npz``), so the next build, after an
ingest, tokenises only the chunks whose text it has not seen (tokenising was 70 % of a rebuild), and hands bm25s
term ids rather than strings. Adding one article to a 100k-chunk store: ~21 s before both, ~15.5 s after; the rest
is reading the chunks back from Chroma (~6 s) and bm25s's own build (~5 s).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import threading
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


@dataclass(frozen=True)
class _Terms:
    """Every document's terms, as indices into one vocabulary: document ``i`` holds ``flat[offsets[i]:offsets[i + 1]]``.
    Kept as arrays, never as a list of string lists: at 100k chunks, converting to and from strings in Python took
    longer than building BM25 itself."""

    keys: np.ndarray  # (n, 2) int64: each document's digest (``_text_key``)
    offsets: np.ndarray  # (n + 1,) int64
    flat: np.ndarray  # int32 indices into vocab
    vocab: list[str]

    def save(self, path: Path) -> None:
        np.savez(
            path,
            keys=self.keys,
            offsets=self.offsets,
            flat=self.flat,
            vocab=np.frombuffer("\n".join(self.vocab).encode("utf-8"), dtype=np.uint8),  # terms hold no newline
        )

    @staticmethod
    def load(path: Path) -> _Terms:
        with np.load(path, allow_pickle=False) as saved:
            keys, offsets, flat = saved["keys"], saved["offsets"], saved["flat"]
            vocab = saved["vocab"].tobytes().decode("utf-8").split("\n") if saved["vocab"].size else []
        if (
            keys.shape != (len(offsets) - 1, 2)
            or int(offsets[-1]) != len(flat)
            or (len(flat) and (flat.min() < 0 or flat.max() >= len(vocab)))
        ):
            raise ValueError("inconsistent terms file")
        return _Terms(keys, offsets, flat, vocab)


def _bm25s_corpus(terms: _Terms) -> tuple[list[list[int]], dict[str, int]]:
    """The documents as bm25s takes them pre-tokenised (term ids and the vocabulary), so it does not map strings to
    ids again. A document without terms gets one placeholder term, as bm25s needs every document to hold one."""
    vocab = {term: i for i, term in enumerate(terms.vocab)}
    flat, offsets = terms.flat.tolist(), terms.offsets.tolist()
    docs = [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    if any(not doc for doc in docs):
        empty = vocab.setdefault("∅", len(vocab))
        docs = [doc or [empty] for doc in docs]
    return docs, vocab


def import_bm25s_in_background() -> None:
    """Start importing bm25s (with scipy: about 0.5 s here) in another thread. An ingest calls this before it
    embeds, so the import overlaps the embedding instead of delaying the index build at the end, which on the
    47-chunk bundled corpus came after 1.5 s of embedding. Importing is idempotent and Python's import lock makes a
    second importer wait for the first, so the build's own ``import bm25s`` is safe either way."""
    threading.Thread(target=importlib.import_module, args=("bm25s",), name="peacetalks-import-bm25s").start()


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
            retriever.index(_bm25s_corpus(terms), show_progress=False)
            retriever.save(str(target), show_progress=False)
            terms.save(target / TERMS_FILE)
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

    def _terms_of(self, documents: list[str]) -> _Terms:
        """Each document's terms: reused from the published build where it holds the same text (by digest, under
        the same recipe), tokenised otherwise. The vocabulary keeps only terms some document still holds."""
        previous = None
        try:
            version = (self.directory / "CURRENT").read_text(encoding="utf-8").strip()
            folder = self.directory / version
            if json.loads((folder / "chunks.json").read_text(encoding="utf-8")).get("recipe") == INDEX_RECIPE:
                previous = _Terms.load(folder / TERMS_FILE)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # none yet, or unreadable: tokenise all
            previous = None
        keys = [_text_key(d) for d in documents]
        vocab: dict[str, int] = {}
        row_of: dict[tuple[int, int], int] = {}
        if previous is not None:
            vocab = {term: i for i, term in enumerate(previous.vocab)}
            row_of = {(high, low): row for row, (high, low) in enumerate(previous.keys.tolist())}
        pieces: list[np.ndarray] = []
        for document, key in zip(documents, keys, strict=True):
            row = row_of.get(key)
            if row is not None and previous is not None:
                pieces.append(previous.flat[previous.offsets[row] : previous.offsets[row + 1]])
            else:
                found = [vocab.setdefault(term, len(vocab)) for term in self.tokenize(document)]
                pieces.append(np.array(found, dtype=np.int32))
        flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
        used = np.unique(flat)  # drop the terms of documents gone since the last build, and renumber densely
        renumber = np.zeros(len(vocab), dtype=np.int32)
        renumber[used] = np.arange(len(used), dtype=np.int32)
        names = list(vocab)
        return _Terms(
            keys=np.array(keys, dtype=np.int64).reshape(-1, 2),
            offsets=np.cumsum([0] + [len(piece) for piece in pieces], dtype=np.int64),
            flat=renumber[flat] if len(flat) else flat,
            vocab=[names[i] for i in used.tolist()],
        )

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
