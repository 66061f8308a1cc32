"""Keyword search: BM25 (bm25s) over the stored chunks, for the names, dates and numbers embeddings blur.

The index is rebuilt by ingest after every change (from Chroma's own documents, so the two never drift) and saved
beside the Chroma files; queries load it once and reload only when ingest has published a newer version. A new
version is written to its own folder and then published by replacing one small ``CURRENT`` file, so a reader
never sees half an index.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
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


class KeywordIndex:
    """``search(query, k) -> [(chunk_id, bm25 score)]`` over all chunks; ``rebuild(...)`` after ingest."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: _Loaded | None = None

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """The same normalisation as the answerer's lexical scoring (stems, aliases, stop words dropped)."""
        return content_terms(text)

    def rebuild(self, ids: list[str], texts: list[str], metas: list[dict[str, Any]]) -> None:
        """Build from every stored chunk and publish atomically; old versions are removed."""
        import bm25s

        self.directory.mkdir(parents=True, exist_ok=True)
        version = uuid.uuid4().hex[:12]
        target = self.directory / version
        target.mkdir()
        if ids:
            retriever = bm25s.BM25()
            retriever.index([self.tokenize(t) or ["∅"] for t in texts], show_progress=False)
            retriever.save(str(target), show_progress=False)
        keep = [
            {
                "article_id": str(m.get("article_id", "")),
                "publisher": str(m.get("publisher", "")),
                "published_day": int(m.get("published_day", -1)),
            }
            for m in metas
        ]
        (target / "chunks.json").write_text(json.dumps({"ids": ids, "meta": keep}), encoding="utf-8")
        tmp = self.directory / f"CURRENT.{version}"
        tmp.write_text(version, encoding="utf-8")
        os.replace(tmp, self.directory / "CURRENT")
        for old in self.directory.iterdir():
            if old.is_dir() and old.name != version:
                shutil.rmtree(old, ignore_errors=True)

    def _current(self) -> _Loaded | None:
        pointer = self.directory / "CURRENT"
        if not pointer.exists():
            return None
        version = pointer.read_text(encoding="utf-8").strip()
        if self._loaded is None or self._loaded.version != version:
            import bm25s

            folder = self.directory / version
            chunks = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
            retriever = bm25s.BM25.load(str(folder), show_progress=False) if chunks["ids"] else None
            vocab = dict(retriever.vocab_dict) if retriever is not None else {}
            self._loaded = _Loaded(version, retriever, chunks["ids"], chunks["meta"], vocab)
        return self._loaded

    @property
    def ready(self) -> bool:
        return (self.directory / "CURRENT").exists()

    def search(
        self, query: str, k: int, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25; ``where`` keeps only chunks whose metadata it accepts."""
        loaded = self._current()
        if loaded is None or loaded.retriever is None:
            return []
        tokens = [t for t in self.tokenize(query) if t in loaded.vocab]
        if not tokens:
            return []
        mask = None
        if where:
            mask = np.array([where(m) for m in loaded.meta], dtype=np.float32)
            if not mask.any():
                return []
        k = min(k, len(loaded.ids))
        docs, scores = loaded.retriever.retrieve([tokens], k=k, show_progress=False, weight_mask=mask)
        return [(loaded.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
