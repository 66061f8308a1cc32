"""Articles added and removed from the browser, kept in ``<data dir>/uploads/`` (article ids ``uploads/<name>``).

The file itself is checked and saved by ``ingest.uploads`` (a plain, safe name; type; size; not empty; readable
by the loader; written atomically), then ingested. If the ingest fails the file is taken back out, and a replaced
upload gets its previous version back, so a failed upload changes nothing: not the folder, not the store.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.store import ChunkStore
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.pipeline import IngestPipeline, remove_articles
from ingest.uploads import UploadError, copy_upload, safe_upload_path

UPLOAD_SUFFIXES = tuple(sorted(SUPPORTED_SUFFIXES))
UPLOADS_FOLDER = "uploads"
# One upload or removal at a time in this process: two sessions adding the same name must not interleave.
_LOCK = threading.Lock()

__all__ = ["UPLOADS_FOLDER", "UPLOAD_SUFFIXES", "UploadError", "UploadResult", "Uploads", "uploads_dir"]


@dataclass(frozen=True)
class UploadResult:
    name: str
    article_id: str
    status: str  # "added", "updated" or "unchanged"
    chunks: int


def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / UPLOADS_FOLDER


class Uploads:
    """Add and remove browser-uploaded articles for one store."""

    def __init__(self, settings: Settings, store: ChunkStore, pipeline: Callable[[], IngestPipeline]) -> None:
        self.settings = settings
        self.store = store
        self._pipeline = pipeline
        self.folder = uploads_dir(settings)

    def add(self, source: Path, name: str) -> UploadResult:
        """Save one uploaded file under ``name`` (replacing an earlier upload of that name) and ingest it; on any
        failure put everything back as it was. ``UploadError`` says what went wrong."""
        with _LOCK:
            target = safe_upload_path(self.folder, name)  # refuses paths, traversal, odd names, wrong types
            backup = self._set_aside(target)
            try:
                copy_upload(self.folder, name, source, self.settings.max_upload_bytes)
            except BaseException:
                self._restore(target, backup)
                raise
            try:
                report = self._pipeline().run([target], prune=False)
            except Exception as error:
                self._restore(target, backup, remove_new=True)
                raise UploadError(name, f"ingest failed ({type(error).__name__}: {error})") from error
            if report.errors:
                self._restore(target, backup, remove_new=True)
                raise UploadError(name, "; ".join(problem.reason for problem in report.errors))
            if backup is not None:
                backup.unlink(missing_ok=True)
        article_id = f"{UPLOADS_FOLDER}/{target.name}"
        status = "added" if report.added else "updated" if report.updated else "unchanged"
        record = self.store.get_article(article_id)
        return UploadResult(target.name, article_id, status, record.n_chunks if record else 0)

    @staticmethod
    def _set_aside(target: Path) -> Path | None:
        """Move an earlier upload of the same name to a hidden name (ingestion skips hidden files)."""
        if not target.exists():
            return None
        backup = target.with_name(f".previous-{secrets.token_hex(6)}-{target.name}")
        os.replace(target, backup)
        return backup

    @staticmethod
    def _restore(target: Path, backup: Path | None, remove_new: bool = False) -> None:
        if remove_new:
            target.unlink(missing_ok=True)
        if backup is not None:
            os.replace(backup, target)

    def remove(self, article_id: str) -> int:
        """Delete an article from the store (and its file, when it is an upload). Returns chunks deleted."""
        with _LOCK:
            try:
                chunks = remove_articles(self.store, [article_id])[article_id]
            except KeyError:
                raise UploadError(article_id, "not in the corpus (already removed?)") from None
            prefix = f"{UPLOADS_FOLDER}/"
            if article_id.startswith(prefix):
                with contextlib.suppress(UploadError, OSError):
                    safe_upload_path(self.folder, article_id[len(prefix) :]).unlink(missing_ok=True)
            return chunks
