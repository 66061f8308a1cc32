"""Sync a folder (or files) of articles into the store: add new, replace changed, delete removed, skip unchanged.

Per article, in this order, so a crash at any point leaves a store the next run repairs:
1. load and chunk (no writes; a broken file is reported and the others go on);
2. LangChain's ``index()`` with the SQL record manager and ``cleanup="incremental"`` scoped to that article: chunks
   whose hash is already recorded are skipped (not embedded), new ones are embedded then written, and the
   article's chunks that are no longer produced are deleted. Chunk ids are content hashes, so a re-run after a
   crash overwrites rather than duplicates;
3. record the article's file hash, so the next run skips it before even chunking.

Ingesting a folder is a full re-sync of that folder: articles previously ingested from it that it no longer holds
are deleted (``prune=False`` / ``--no-prune`` keeps them). Files named one by one never prune anything.

One writer at a time (``ChunkStore.writer_lock``: the data dir, and the shared records database in server mode).
Before its first change an ingest marks the store as being written; at the end it *publishes*: a new corpus version
in Chroma, which every process's BM25 cache follows. An ingest that was killed leaves the mark set, so the next one
publishes even if it finds nothing left to change (tests/ingest/test_kill.py kills ingests at several points).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.indexing import index
from tqdm import tqdm

from assistant.config import Settings
from assistant.keyword import import_bm25s_in_background
from assistant.locks import file_lock
from assistant.models import Article, Chunk
from assistant.store import ArticleRecord, ChunkStore, StoreError, StoreUnavailableError
from ingest.chunking import ChunkingConfig, SentenceChunker, load_tokenizer
from ingest.loaders import LoadError, discover_files, load_article


@dataclass(frozen=True)
class IngestProblem:
    """One file that could not be ingested, and why (one line for the user)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class IngestReport:
    """What one ingest run did, article by article and chunk by chunk."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_skipped: int = 0
    chunks_deleted: int = 0
    errors: list[IngestProblem] = field(default_factory=list)
    seconds: float = 0.0
    # The analyst views' refresh (when the pipeline is asked for it): what changed, or why the refresh failed.
    views: str | None = None
    views_error: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return (
            f"articles: {len(self.added)} added, {len(self.updated)} updated, {len(self.deleted)} deleted, "
            f"{len(self.unchanged)} unchanged, {len(self.errors)} failed | chunks: {self.chunks_embedded} embedded, "
            f"{self.chunks_skipped} kept, {self.chunks_deleted} deleted | {self.seconds:.1f}s"
        )


# Articles are indexed in groups of about this many chunks: large enough to batch the embedding of many small
# articles, small enough that a failed group is cheap to retry article by article.
GROUP_CHUNKS = 256
# New chunks are handed to the embedder ahead in batches of at least this many, as soon as they are chunked: enough
# texts to keep both embedding threads busy, few enough that embedding starts after the first article or two.
AHEAD_CHUNKS = 16


@dataclass(frozen=True)
class ArticleWork:
    """An article to index: where it came from, its chunks, and whether the store already had a version of it."""

    root: str
    article: Article
    chunks: list[Chunk]
    existed: bool


def _groups(work: Iterable[ArticleWork], size: int) -> Iterator[list[ArticleWork]]:
    group: list[ArticleWork] = []
    count = 0
    for item in work:
        if group and count + len(item.chunks) > size:
            yield group
            group, count = [], 0
        group.append(item)
        count += len(item.chunks)
    if group:
        yield group


def _handed_ahead(work: Iterable[ArticleWork], submit: Callable[[Sequence[str]], None]) -> Iterator[ArticleWork]:
    """``work`` as it comes, with new articles' chunk texts handed to ``submit`` every ``AHEAD_CHUNKS`` chunks and
    at the end. Changed articles are left out: ``index()`` embeds only their chunks not already stored."""
    pending: list[str] = []
    for item in work:
        if not item.existed:
            pending.extend(c.text for c in item.chunks)
        if len(pending) >= AHEAD_CHUNKS:
            submit(pending)
            pending = []
        yield item
    submit(pending)


@contextmanager
def ingest_lock(data_dir: Path) -> Iterator[None]:
    """One ingest at a time per data dir (a second one waits). The pipeline uses ``ChunkStore.writer_lock``, which
    takes this same lock and, in server mode, the shared one too."""
    with file_lock(data_dir / "ingest.lock"):
        yield


class IngestPipeline:
    """``run(paths) -> IngestReport``: discovery, loading, chunking and sync, wired from one store and chunker."""

    # Also refresh the analyst views (stance board, timeline) after each run; off unless asked (CLI ingest).
    refresh_views = False

    def __init__(self, store: ChunkStore, chunker: SentenceChunker, max_file_bytes: int, show_progress: bool = True):
        self.store = store
        self.chunker = chunker
        self.max_file_bytes = max_file_bytes
        self.show_progress = show_progress
        self.fingerprint = chunker.config.fingerprint() + ":" + store.embedder.model_id

    def run(self, paths: Sequence[Path], prune: bool = True) -> IngestReport:
        """Sync files and folders from disk."""
        started = time.perf_counter()
        report = IngestReport()
        with self.store.writer_lock():
            recovering = self.store.write_unfinished()
            sources, missing = discover_files(paths)
            report.errors.extend(IngestProblem(e.path, e.reason) for e in missing)
            loaded: list[tuple[str, Article]] = []
            for source in sources:
                try:
                    loaded.append((str(source.root), load_article(source, max_bytes=self.max_file_bytes)))
                except LoadError as error:
                    report.errors.append(IngestProblem(error.path, error.reason))
            self._sync(self._plan(loaded, report), report)
            if prune:
                folders = {str(p.resolve()) for p in paths if p.is_dir()}
                self._prune(folders, {s.article_id for s in sources}, report)
            self._publish(report, recovering)
            self._refresh_views(report)
        report.seconds = time.perf_counter() - started
        return report

    def run_articles(self, articles: Sequence[Article], root: str, prune: bool = True) -> IngestReport:
        """Sync articles already in memory (benchmark passages) as if they were the files of folder ``root``."""
        started = time.perf_counter()
        report = IngestReport()
        with self.store.writer_lock():
            recovering = self.store.write_unfinished()
            self._sync(self._plan([(root, a) for a in articles], report), report)
            if prune:
                self._prune({root}, {a.article_id for a in articles}, report)
            self._publish(report, recovering)
        report.seconds = time.perf_counter() - started
        return report

    def _refresh_views(self, report: IngestReport) -> None:
        """Bring the analyst views up to date with what this run changed; a failure there is reported in the
        report, never an ingest failure."""
        if not self.refresh_views:
            return
        try:
            from assistant.analyst.state import make_llm, refresh_views

            state = refresh_views(self.store.settings, self.store, make_llm(self.store.settings))
            report.views = state.stats.summary() + "\n" + state.whats_new.summary()
        except Exception as error:
            report.views_error = f"{type(error).__name__}: {error}"

    def _publish(self, report: IngestReport, recovering: bool) -> None:
        """A new corpus version (every process's BM25 follows it) when this run wrote anything or an earlier one
        died mid-write; otherwise only bring this data dir's BM25 cache up to date if it is stale."""
        if self.store.writing or recovering or report.added or report.updated or report.deleted:
            self.store.publish()
        else:
            self.store.keyword  # noqa: B018 -- the property refreshes the cache

    def _plan(self, loaded: list[tuple[str, Article]], report: IngestReport) -> Iterator[ArticleWork]:
        """Chunk what changed, article by article as the caller asks for them (so embedding can start after the
        first group); unchanged articles (same bytes, same chunking and model) are skipped here."""
        records = self.store.get_articles([article.article_id for _, article in loaded])
        moved = []
        for root, article in loaded:
            known = records.get(article.article_id)
            if (
                known
                and known.content_sha256 == article.content_sha256
                and known.config_fingerprint == self.fingerprint
            ):
                report.unchanged.append(article.article_id)
                if (known.root, known.path) != (root, article.path):  # the folder moved: keep prune scoped right
                    moved.append(dataclasses.replace(known, root=root, path=article.path))
                continue
            chunks = self.chunker.run(article)
            if not chunks:
                report.errors.append(IngestProblem(article.path, "no text to index after chunking"))
                continue
            yield ArticleWork(root, article, chunks, existed=article.article_id in records)
        self.store.put_articles(moved)

    def _sync(self, planned: Iterable[ArticleWork], report: IngestReport) -> None:
        """Index the work in groups of whole articles, so many small articles share one embedding batch.

        Embedding runs ahead (``LangChainEmbeddings.embed_ahead``): new articles' chunks are handed to a background
        thread as soon as they are chunked (``_handed_ahead``), and are embedded while later articles are chunked and
        earlier groups written, so the cores never wait for chunking or writes. Changed articles are left to
        ``index()``, which embeds only their chunks not already stored.
        """
        embeddings = self.store.vector_store.embeddings
        import_bm25s_in_background()  # needed by the publish at the end; imported while the cores embed
        # No bar until something is embedded (delay), so a re-sync with nothing to do prints nothing.
        with tqdm(total=0, unit="chunk", desc="embedding", disable=not self.show_progress, delay=1e-3) as bar:
            embeddings.on_progress = bar.update
            try:
                with embeddings.embed_ahead() as submit:
                    groups = list(_groups(_handed_ahead(planned, submit), GROUP_CHUNKS))
                    bar.total = sum(len(item.chunks) for group in groups for item in group)
                    for group in groups:
                        skipped_before = report.chunks_skipped
                        self._sync_group(group, report)
                        bar.update(report.chunks_skipped - skipped_before)  # kept chunks never reach the embedder
            finally:
                embeddings.on_progress = None

    def _sync_group(self, group: list[ArticleWork], report: IngestReport) -> None:
        """One ``index()`` call for whole articles: everything is embedded before anything is written, and each
        article's stale chunks are deleted with it. If the group fails, its articles are retried one by one, so
        one bad article is reported alone and the others still land."""
        docs = [Document(page_content=c.text, metadata=c.to_store_metadata()) for item in group for c in item.chunks]
        self.store.begin_write()
        try:
            result = index(
                docs,
                self.store.record_manager,
                self.store.vector_store,
                cleanup="incremental",
                source_id_key="article_id",
                key_encoder="sha256",
                batch_size=max(len(docs), 1),  # one batch: embed everything before writing anything
            )
        except Exception as error:  # a store or embedding failure must not stop the other articles
            if unavailable := self.store.unavailable(error):
                raise unavailable from error  # ... unless the store is gone: then nothing else can land either
            if len(group) > 1:
                for item in group:
                    self._sync_group([item], report)
                return
            report.errors.append(IngestProblem(group[0].article.path, f"could not write to the store: {error}"))
            return
        report.chunks_embedded += result["num_added"] + result["num_updated"]
        report.chunks_skipped += result["num_skipped"]
        report.chunks_deleted += result["num_deleted"]
        self.store.put_articles([self._record(item.root, item.article, len(item.chunks)) for item in group])
        for item in group:
            (report.updated if item.existed else report.added).append(item.article.article_id)

    def _record(self, root: str, article: Article, n_chunks: int) -> ArticleRecord:
        meta = article.metadata
        return ArticleRecord(
            article_id=article.article_id,
            root=root,
            path=article.path,
            content_sha256=article.content_sha256,
            config_fingerprint=self.fingerprint,
            title=meta.title,
            publisher=meta.publisher or "",
            published=meta.published or "",
            license=meta.license or "",
            source=meta.source or "",
            n_chunks=n_chunks,
            ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def _prune(self, roots: set[str], present: set[str], report: IngestReport) -> None:
        """Delete articles once ingested from one of these roots that are no longer present there."""
        for record in self.store.list_articles():
            if record.root in roots and record.article_id not in present:
                try:
                    report.chunks_deleted += self.store.delete_article(record.article_id)
                    report.deleted.append(record.article_id)
                except StoreUnavailableError:
                    raise
                except StoreError as error:
                    report.errors.append(IngestProblem(record.path, f"could not delete: {error}"))


def remove_articles(store: ChunkStore, article_ids: Sequence[str]) -> dict[str, int]:
    """Delete articles by id (CLI ``remove``, UI). Returns chunks deleted per article; unknown ids raise KeyError."""
    deleted: dict[str, int] = {}
    with store.writer_lock():
        recovering = store.write_unfinished()
        try:
            for article_id in article_ids:
                if store.get_article(article_id) is None:
                    raise KeyError(article_id)
                deleted[article_id] = store.delete_article(article_id)
        finally:
            if deleted or recovering:
                store.publish()
    return deleted


def build_ingest_pipeline(
    settings: Settings, store: ChunkStore, show_progress: bool = True, refresh_views: bool = False
) -> IngestPipeline:
    """The ingest pipeline for a store, with the chunking settings of ``settings``."""
    embedder = store.embedder
    chunker = SentenceChunker(
        load_tokenizer(settings.tiktoken_cache_dir),
        ChunkingConfig(
            max_tokens=settings.chunk_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
            model_window=embedder.max_seq_length,
        ),
        model_tokens=embedder.count_tokens,
    )
    pipeline = IngestPipeline(store, chunker, settings.max_file_bytes, show_progress=show_progress)
    pipeline.refresh_views = refresh_views
    return pipeline
