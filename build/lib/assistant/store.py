"""The one place that talks to Chroma and to the ingest records.

Two ways to run, chosen by ``Settings`` alone (docs/deployment.md):

* embedded (default): ``chromadb.PersistentClient`` on files under the data dir;
* server: ``chromadb.HttpClient`` against a Chroma server (``PEACETALKS_CHROMA_URL``), shared by many processes.

Chroma is the single source of truth for everything a question reads: chunk texts, metadata and vectors, and in
the collection's metadata the embedding model and dimension the store was built with, the schema version and the
*corpus version*, a tag that every completed ingest bumps. The BM25 index is derived from Chroma's documents and
cached in the data dir, tagged with the corpus version it was built from; each process checks the tag against
Chroma (at most every ``keyword_refresh_s``) and rebuilds when it is stale. So any number of replicas answer from
the same corpus without sharing a disk, and none can drift: a stale cache is detected by construction.

The ingest records (LangChain's ``SQLRecordManager``: which chunk hashes exist per article; our ``articles``
table: each ingested file's hash and folder) are the writers' bookkeeping, in one SQL database: a sqlite file in
the data dir by default, or any SQLAlchemy URL (``PEACETALKS_RECORDS_URL``, postgres in a deployment) shared by
every process that ingests. Chroma remembers which records database it belongs to, so a writer with the wrong
one (say, a replica's own sqlite file) is refused instead of silently drifting.

Every failure a user can act on surfaces as ``StoreError`` with a message that says what to do; an unreachable
Chroma server is ``StoreUnavailableError``, and the next call simply tries again (no state to reset).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import chromadb
import httpx
import numpy as np
import sqlalchemy as sa
from chromadb.api.collection_configuration import CreateHNSWConfiguration
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError

from assistant.config import Settings
from assistant.embedding import Embedder, LangChainEmbeddings
from assistant.keyword import KeywordIndex
from assistant.locks import file_lock
from assistant.models import Chunk, Evidence

log = logging.getLogger(__name__)

# HNSW index settings, set explicitly and chosen with `python -m evals.tune_retrieval hnsw` (300 questions against
# stores of real vectors repeated with noise: the near-duplicates a growing news corpus is full of). At 100k chunks,
# top-30 recall against exact search / worst question / p95: Chroma's defaults (M=16, ef_construction=100,
# ef_search=100) 0.985 / 0.00 / 2.2 ms; M=32, ef_construction=200, ef_search=128 (ours until then) 0.996 / 0.00 /
# 4.5 ms; with ef_search=256, 1.000 / 1.00 / 3.2 ms. A worst question at 0.00 is a search that ended in the wrong
# region of the graph: 7 of 300 questions got none of their 30 true neighbours (best cosine 0.19 where exact search
# found 0.81). At 10k chunks every setting is at 0.998+. ef_search can change on an existing collection, and is
# raised there when a store is opened; M and ef_construction hold for collections created from now on.
HNSW_CONFIGURATION: CreateHNSWConfiguration = {
    "space": "cosine",
    "max_neighbors": 32,
    "ef_construction": 200,
    "ef_search": 256,
}
# 1: the first stores. 2: corpus version and ingest state in the collection metadata, BM25 builds tagged with it,
# records database named in Chroma. A version 1 store is upgraded in place (its BM25 cache is rebuilt once).
SCHEMA_VERSION = 2
# Collection metadata keys.
MODEL_KEY, DIM_KEY, SCHEMA_KEY = "embedding_model", "embedding_dim", "schema_version"
VERSION_KEY = "corpus_version"  # bumped by every completed ingest; BM25 caches are tagged with it
WRITING_KEY = "ingest_in_progress"  # set before an ingest's first write, cleared when it completes
RECORDS_KEY = "records_id"  # the records database that holds this collection's ingest records
INITIAL_VERSION = "initial"  # the corpus version of a store no ingest has tagged yet
# Chroma ``get`` page size when reading the whole collection (BM25 builds).
PAGE = 5000
# Ids per SQL "IN (...)" list: under SQLite's oldest bound-parameter limit (999).
SQL_IN_BATCH = 500

T = TypeVar("T")


class StoreError(RuntimeError):
    """A problem with the store that the user can act on; the message says what to do."""


class NotIngestedError(StoreError):
    """The store is empty or absent."""


class StoreUnavailableError(StoreError):
    """The Chroma server (or the records database) cannot be reached right now; a later call may succeed."""


@dataclass(frozen=True)
class ArticleRecord:
    """One row of the ``articles`` table."""

    article_id: str
    root: str
    path: str
    content_sha256: str
    config_fingerprint: str
    title: str
    publisher: str
    published: str
    license: str
    source: str
    n_chunks: int
    ingested_at: str


_RECORDS = sa.MetaData()
# Column order is ArticleRecord's field order (rows are turned into records positionally). The same schema as the
# sqlite table of the first versions, so their records.sqlite files open unchanged.
ARTICLES = sa.Table(
    "articles",
    _RECORDS,
    sa.Column("article_id", sa.Text, primary_key=True),
    *(
        sa.Column(name, sa.Text, nullable=False)
        for name in (
            "root",
            "path",
            "content_sha256",
            "config_fingerprint",
            "title",
            "publisher",
            "published",
            "license",
            "source",
        )
    ),
    sa.Column("n_chunks", sa.Integer, nullable=False),
    sa.Column("ingested_at", sa.Text, nullable=False),
)
# Facts about the records database itself: its id (named in the Chroma collection) and the collection it serves.
STORE_INFO = sa.Table(
    "peacetalks_store",
    _RECORDS,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def _safe_url(url: str) -> str:
    """A database URL with its password hidden, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<records database>"


def _server_address(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise StoreError(f"PEACETALKS_CHROMA_URL must look like http://HOST:PORT (or https://...), got {url!r}.")
    ssl = parts.scheme == "https"
    try:
        port = parts.port or (443 if ssl else 8000)
    except ValueError:
        raise StoreError(f"PEACETALKS_CHROMA_URL has an invalid port: {url!r}.") from None
    return parts.hostname, port, ssl


_EMBEDDED_OPEN = threading.Lock()


def connect_chroma(settings: Settings, fresh: bool = False) -> Any:
    """The Chroma client ``settings`` asks for (telemetry off in both modes); ``StoreError`` when impossible.

    ``fresh`` (embedded only): a new client that reads the files as they are now. chromadb keeps one client per
    path and process, whose in-memory HNSW index never sees what *another process* wrote (it even returns chunks
    deleted since); a fresh one loads the files again.
    """
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    server = settings.chroma_server
    if server is None:
        try:
            # One thread at a time: two stores of one process (a writer and a reader) reopening the same path at
            # once would race on chromadb's per-path cache and fail to open.
            with _EMBEDDED_OPEN:
                if fresh:
                    from chromadb.api.shared_system_client import SharedSystemClient

                    # chromadb's per-path client cache, keyed by the path as PersistentClient records it. Clients
                    # made before keep working (on their own, older view); the next one for this path starts afresh.
                    SharedSystemClient._identifier_to_system.pop(str(settings.chroma_dir), None)
                return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
        except Exception as error:
            raise StoreError(
                f"Could not open the Chroma store in {settings.chroma_dir} ({type(error).__name__}: {error}). "
                f"It may have been written by another version of chromadb (this is {chromadb.__version__}): "
                "run `peacetalks reset` and ingest again, or point PEACETALKS_DATA_DIR elsewhere."
            ) from error
    host, port, ssl = _server_address(server)
    token = settings.chroma_auth_token
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else None
    try:
        client = chromadb.HttpClient(host=host, port=port, ssl=ssl, headers=headers, settings=chroma_settings)
    except ChromaError as error:  # it answered, and said no (a wrong token, say)
        raise StoreError(
            f"The Chroma server at {server} refused the connection ({type(error).__name__}: {error}); "
            "check PEACETALKS_CHROMA_AUTH_TOKEN."
        ) from error
    except Exception as error:
        raise _unreachable(server, error) from error
    # chromadb's HTTP session never times out by default: a stuck server would hang every question forever.
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(settings.chroma_timeout_s)
    return client


def _unreachable(server: str, error: BaseException) -> StoreUnavailableError:
    if isinstance(error, httpx.TimeoutException):
        return StoreUnavailableError(
            f"The Chroma server at {server} did not answer in time ({type(error).__name__}): is it overloaded or "
            "stuck? Try again in a moment (the limit is PEACETALKS_CHROMA_TIMEOUT_S)."
        )
    return StoreUnavailableError(
        f"Cannot reach the Chroma server at {server} ({type(error).__name__}: {error}): is it running? "
        "Start it (e.g. `chroma run --path DIR --port PORT`) or fix PEACETALKS_CHROMA_URL; "
        "the next request tries again."
    )


def _sqlite_wal(connection: Any, _record: Any) -> None:
    """Write-ahead logging for the records database: the app reads article records while an ingest writes them
    (no "database is locked"), and a commit appends to the log instead of rewriting pages with two fsyncs. With
    ``synchronous=NORMAL`` a crash can lose the last commits but never corrupts the file, and ingest recovers from
    that by construction (an unrecorded article is ingested again, onto the same content-hashed chunk ids). A write
    transaction went from 3.0 ms to 0.8 ms on this machine."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def sql_record_manager_class() -> type:
    """LangChain's ``SQLRecordManager`` class, loaded from its own module without running its package's ``__init__``.

    ``from langchain_classic.indexes import SQLRecordManager`` first runs ``langchain_classic/indexes/__init__.py``,
    which imports ``VectorstoreIndexCreator`` and with it the whole ``chains`` package: 0.6 s on this machine, paid by
    every ingest process (a third of adding one article to a 10k-chunk store). The module itself imports only
    ``langchain_core`` and SQLAlchemy. It is registered under its own name, so a later import of the package finds
    it and both name the same class.
    """
    import importlib.util
    import sys

    name = "langchain_classic.indexes._sql_record_manager"
    module = sys.modules.get(name)
    if module is None:
        package = importlib.util.find_spec("langchain_classic")
        if package is None or not package.submodule_search_locations:
            raise ImportError("langchain-classic is not installed")
        path = Path(next(iter(package.submodule_search_locations))) / "indexes" / "_sql_record_manager.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return module.SQLRecordManager


class ChunkStore:
    """Chroma collection + BM25 cache + ingest records, opened from one ``Settings``.

    Safe to share between threads (the web UI answers several questions at once with one store).
    """

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.server = settings.chroma_server
        self.location = self.server or str(settings.chroma_dir)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.client = connect_chroma(settings)
        self._collection = self._guard(self._open_collection)
        self._records_url = settings.records_location
        self._engine = self._open_records()
        self._check_records(self._collection.metadata or {})
        self._record_manager: Any = None
        self._vector_store: Any = None
        self._embeddings = LangChainEmbeddings(embedder)  # one for the store's life, kept across reconnects
        self._keyword = KeywordIndex(settings.data_dir / "bm25")
        self._checked = float("-inf")
        self._keyword_build = threading.Lock()
        self._marked_writing = False
        self._seen_version = self.corpus_version()  # the corpus this process's Chroma client has seen

    # ---- opening and checking ----------------------------------------------------------------------------------

    @property
    def collection(self) -> Any:
        """The Chroma collection (reopened transparently if another process deleted and recreated it)."""
        return self._collection

    def _open_collection(self) -> Any:
        collection = self.client.get_or_create_collection(
            name=self.settings.collection,
            configuration={"hnsw": HNSW_CONFIGURATION},
            metadata={
                MODEL_KEY: self.embedder.model_id,
                DIM_KEY: self.embedder.dimension,
                SCHEMA_KEY: SCHEMA_VERSION,
            },
            embedding_function=None,  # we always pass vectors; Chroma must never embed (it would download a model)
        )
        self._check_compatible(collection)
        self._raise_ef_search(collection)
        return collection

    def _raise_ef_search(self, collection: Any) -> None:
        """Give a collection created with a smaller ``ef_search`` ours (the one HNSW setting Chroma can change later);
        a store that cannot be changed (read-only files) keeps searching with its own."""
        wanted = HNSW_CONFIGURATION["ef_search"]
        current = (collection.configuration_json or {}).get("hnsw", {}).get("ef_search")
        if isinstance(current, int) and current < wanted:
            try:
                collection.modify(configuration={"hnsw": {"ef_search": wanted}})
            except (ChromaError, ValueError) as error:  # the old value still searches correctly, only less exactly
                log.warning(
                    "could not raise HNSW ef_search of %s from %s to %s: %s", self.location, current, wanted, error
                )

    def _check_compatible(self, collection: Any) -> None:
        """Refuse a store built with another embedding model or by a newer peacetalks, with an explanation
        instead of a dimension error deep inside Chroma."""
        meta = collection.metadata or {}
        where = f"The store at {self.location} (collection {self.settings.collection!r})"
        fix = (
            "Use the model it was built with (PEACETALKS_EMBEDDING_MODEL_PATH), or start a new store: "
            "`peacetalks reset` (or another PEACETALKS_DATA_DIR / PEACETALKS_COLLECTION), then `peacetalks ingest`."
        )
        schema = meta.get(SCHEMA_KEY)
        if isinstance(schema, int) and schema > SCHEMA_VERSION:
            raise StoreError(
                f"{where} was written by a newer peacetalks (store schema {schema}; this one reads up to "
                f"{SCHEMA_VERSION}). Upgrade peacetalks, or `peacetalks reset` and ingest again."
            )
        model, dim = meta.get(MODEL_KEY), meta.get(DIM_KEY)
        if model is None:  # a store from before the model was recorded: all we can compare is the dimension
            got = collection.get(limit=1, include=["embeddings"])
            vectors = got.get("embeddings")
            if vectors is not None and len(vectors) and len(vectors[0]) != self.embedder.dimension:
                raise StoreError(
                    f"{where} holds {len(vectors[0])}-dimensional vectors from an unrecorded embedding model, but "
                    f"this run uses {self.embedder.model_id} ({self.embedder.dimension} dims). {fix}"
                )
            return
        if model != self.embedder.model_id or dim != self.embedder.dimension:
            raise StoreError(
                f"{where} was built with embedding model {model} ({dim} dims), but this run uses "
                f"{self.embedder.model_id} ({self.embedder.dimension} dims). {fix}"
            )

    def _open_records(self) -> sa.Engine:
        url = self._records_url
        try:
            if url.startswith("sqlite"):
                engine = sa.create_engine(url, connect_args={"timeout": 30})
                sa.event.listen(engine, "connect", _sqlite_wal)
            else:
                engine = sa.create_engine(url, pool_pre_ping=True)
            _RECORDS.create_all(engine)
            with engine.begin() as db:
                info = dict(db.execute(sa.select(STORE_INFO.c.key, STORE_INFO.c.value)).tuples().all())
                missing = {
                    k: v
                    for k, v in {"records_id": uuid.uuid4().hex, "collection": self.settings.collection}.items()
                    if k not in info
                }
                if missing:
                    db.execute(sa.insert(STORE_INFO), [{"key": k, "value": v} for k, v in missing.items()])
        except sa.exc.IntegrityError:  # another process created the rows at the same moment: theirs stand
            return self._open_records()
        except (sa.exc.SQLAlchemyError, ImportError) as error:
            raise StoreUnavailableError(
                f"Cannot open the ingest records database {_safe_url(url)} ({type(error).__name__}: {error}). "
                "Check PEACETALKS_RECORDS_URL and that the database is running."
            ) from error
        info = {**info, **missing}
        if info["collection"] != self.settings.collection:
            raise StoreError(
                f"The records database {_safe_url(url)} belongs to collection {info['collection']!r}, not "
                f"{self.settings.collection!r}: give each collection its own PEACETALKS_RECORDS_URL."
            )
        self.records_id = info["records_id"]
        return engine

    # ---- error handling ----------------------------------------------------------------------------------------

    def _translate(self, error: BaseException) -> StoreError | None:
        """The ``StoreError`` a failure should surface as (None: a bug, let it through unchanged)."""
        if isinstance(error, StoreError):
            return error
        if isinstance(error, httpx.TransportError | ConnectionError) or "Could not connect to a Chroma server" in str(
            error
        ):
            return _unreachable(self.location, error)
        if isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
            return StoreUnavailableError(
                f"Cannot reach the ingest records database {_safe_url(self._records_url)} ({error.orig}). "
                "Check that it is running and PEACETALKS_RECORDS_URL."
            )
        if isinstance(error, ChromaError):
            return StoreError(f"Chroma at {self.location} refused the request ({type(error).__name__}: {error}).")
        return None

    def unavailable(self, error: BaseException) -> StoreUnavailableError | None:
        """``error`` as a ``StoreUnavailableError`` if it means the store cannot be reached (for the pipeline)."""
        translated = self._translate(error)
        return translated if isinstance(translated, StoreUnavailableError) else None

    def _guard(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except Exception as error:
            translated = self._translate(error)
            if translated is None or translated is error:
                raise
            raise translated from error

    def _chroma(self, operation: Callable[[Any], T]) -> T:
        """Run ``operation(collection)``; reopen once if the collection was deleted and recreated meanwhile."""

        def attempt() -> T:
            try:
                return operation(self._collection)
            except NotFoundError:
                self._reopen()
                return operation(self._collection)

        return self._guard(attempt)

    def _reopen(self) -> None:
        with self._lock:
            self._collection = self._open_collection()
            self._vector_store = None

    def _reconnect(self) -> None:
        """Embedded mode: a fresh client, to see what another process wrote (see ``connect_chroma``)."""
        with self._lock:
            self.client = connect_chroma(self.settings, fresh=True)
            self._reopen()

    # ---- corpus state (in the collection metadata) -------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        """The collection metadata as it is now on the server (never a cached copy)."""

        def read() -> dict[str, Any]:
            try:
                fresh = self.client.get_collection(self.settings.collection, embedding_function=None)
            except NotFoundError:  # deleted (reset) by another process: start afresh, as an empty store
                self._reopen()
                return dict(self._collection.metadata or {})
            if fresh.id != self._collection.id:  # deleted and recreated by another process
                self._reopen()
            return dict(fresh.metadata or {})

        return self._guard(read)

    def _set_state(self, **changes: Any) -> None:
        """Update some metadata keys, keeping the others (Chroma replaces the whole metadata). Writers only, under
        ``writer_lock``, so the read-modify-write cannot race another writer."""
        meta = {k: v for k, v in self._state().items() if not k.startswith("hnsw:")}
        meta.update(changes)
        self._chroma(lambda c: c.modify(metadata=meta))

    def corpus_version(self) -> str:
        """The tag of the last completed ingest (changes whenever the corpus does)."""
        return str(self._state().get(VERSION_KEY) or INITIAL_VERSION)

    # ---- ingest side -------------------------------------------------------------------------------------------

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One writer at a time: this data dir (a local file lock), and across machines the records database (a
        postgres advisory lock; for a sqlite file outside the data dir, a file lock beside it). Every lock is
        released if the process dies, so a killed ingest never blocks the next one."""
        with file_lock(self.settings.data_dir / "ingest.lock"), self._records_lock():
            self._marked_writing = False
            if self.server is None:  # write on top of the files as they are, not on a stale in-memory view
                self._reconnect()
            yield

    def _records_lock(self) -> Any:
        url = sa.engine.make_url(self._records_url)
        if url.get_backend_name() == "postgresql":
            return self._advisory_lock()
        database = url.database
        if url.get_backend_name() == "sqlite" and database and database != ":memory:":
            path = Path(database).resolve()
            if not path.is_relative_to(self.settings.data_dir.resolve()):
                return file_lock(path.with_name(path.name + ".lock"))
        return nullcontext()

    @contextmanager
    def _advisory_lock(self) -> Iterator[None]:
        key = zlib.crc32(f"peacetalks:{self.settings.collection}".encode())
        with self._engine.connect() as db:
            self._guard(lambda: db.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key}))
            db.commit()
            try:
                yield
            finally:
                db.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                db.commit()

    @property
    def writing(self) -> bool:
        """Has this process marked the store as being written since it took ``writer_lock``?"""
        return self._marked_writing

    def write_unfinished(self) -> bool:
        """Did an earlier ingest stop (crash, kill) between its first write and its end? Call under the lock."""
        return bool(self._state().get(WRITING_KEY))

    def _check_records(self, state: dict[str, Any]) -> None:
        """Refuse a records database other than the one the collection was ingested with."""
        owner = state.get(RECORDS_KEY)
        if owner is not None and owner != self.records_id:
            raise StoreError(
                f"The collection {self.settings.collection!r} at {self.location} was ingested with another records "
                f"database than {_safe_url(self._records_url)}: every process that uses one store must share its "
                "records (set PEACETALKS_RECORDS_URL as the others do), or their article lists and ingests would "
                "drift apart. To start over instead: `peacetalks reset`."
            )

    def begin_write(self) -> None:
        """Mark the store as being written (before an ingest's first change); idempotent within one lock."""
        if self._marked_writing:
            return
        self._check_records(self._state())
        self._set_state(**{WRITING_KEY: True, RECORDS_KEY: self.records_id, SCHEMA_KEY: SCHEMA_VERSION})
        self._marked_writing = True

    def publish(self) -> str:
        """End a write: a new corpus version in Chroma, then this process's BM25 rebuilt for it. Returns it."""
        version = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._set_state(**{WRITING_KEY: False, VERSION_KEY: version, SCHEMA_KEY: SCHEMA_VERSION})
        self._seen_version = version
        self._marked_writing = False
        self._sync(force=True)
        return version

    @property
    def record_manager(self) -> Any:
        """LangChain's SQL record manager (created lazily: only ingest needs it)."""
        if self._record_manager is None:
            manager = sql_record_manager_class()(f"chroma/{self.settings.collection}", engine=self._engine)
            self._guard(manager.create_schema)
            self._record_manager = manager
        return self._record_manager

    @property
    def vector_store(self) -> Any:
        """LangChain's Chroma wrapper over our collection, embedding through our model."""
        with self._lock:
            if self._vector_store is None:
                from langchain_chroma import Chroma

                self._vector_store = self._guard(
                    lambda: Chroma(
                        client=self.client,
                        collection_name=self.settings.collection,
                        embedding_function=self._embeddings,
                        collection_configuration={"hnsw": HNSW_CONFIGURATION},
                    )
                )
            return self._vector_store

    def _records(self, operation: Callable[[sa.Connection], T]) -> T:
        def run() -> T:
            with self._engine.begin() as db:
                return operation(db)

        return self._guard(run)

    def get_article(self, article_id: str) -> ArticleRecord | None:
        row = self._records(
            lambda db: db.execute(sa.select(ARTICLES).where(ARTICLES.c.article_id == article_id)).first()
        )
        return ArticleRecord(*row) if row else None

    def list_articles(self) -> list[ArticleRecord]:
        rows = self._records(lambda db: db.execute(sa.select(ARTICLES).order_by(ARTICLES.c.article_id)).all())
        return [ArticleRecord(*row) for row in rows]

    def get_articles(self, article_ids: Sequence[str]) -> dict[str, ArticleRecord]:
        """The records of those of ``article_ids`` that are known, in a few queries (ingest plans whole folders)."""
        ids = list(dict.fromkeys(article_ids))

        def read(db: sa.Connection) -> list[Any]:
            rows: list[Any] = []
            for start in range(0, len(ids), SQL_IN_BATCH):
                batch = ids[start : start + SQL_IN_BATCH]
                rows += db.execute(sa.select(ARTICLES).where(ARTICLES.c.article_id.in_(batch))).all()
            return rows

        return {row.article_id: ArticleRecord(*row) for row in self._records(read)} if ids else {}

    def put_article(self, record: ArticleRecord) -> None:
        self.put_articles([record])

    def put_articles(self, records: Sequence[ArticleRecord]) -> None:
        """Insert or replace article rows, all in one transaction (the last record wins for a repeated id)."""
        records = list({record.article_id: record for record in records}.values())

        def put(db: sa.Connection) -> None:
            ids = [record.article_id for record in records]
            for start in range(0, len(ids), SQL_IN_BATCH):
                db.execute(sa.delete(ARTICLES).where(ARTICLES.c.article_id.in_(ids[start : start + SQL_IN_BATCH])))
            db.execute(sa.insert(ARTICLES), [dataclasses.asdict(record) for record in records])

        if records:
            self._records(put)

    def delete_article(self, article_id: str) -> int:
        """Remove an article's chunks from Chroma, its keys from the record manager, then its row. Returns chunks."""
        keys = self._guard(lambda: self.record_manager.list_keys(group_ids=[article_id]))
        if keys:
            self.begin_write()
            self._chroma(lambda c: c.delete(ids=keys))
            self._guard(lambda: self.record_manager.delete_keys(keys))
        self._records(lambda db: db.execute(sa.delete(ARTICLES).where(ARTICLES.c.article_id == article_id)))
        return len(keys)

    # ---- query side --------------------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._chroma(lambda c: c.count()))

    def query(self, vector: Any, k: int, where: dict[str, Any] | None = None) -> list[Evidence]:
        """Nearest chunks to a query vector; score is cosine similarity (1 - cosine distance)."""
        self._sync()
        # No count() before the search: it costs a full scan of the collection's metadata (29 ms at 100k chunks),
        # more than the search itself. Chroma returns fewer hits when it holds fewer than k; only an empty
        # result needs the count, to tell an empty store from a filter that matched nothing.
        result = self._chroma(
            lambda c: c.query(
                query_embeddings=np.asarray([vector], dtype=np.float32),
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        )
        if not result["ids"][0] and self.count() == 0:
            raise NotIngestedError(
                f"Nothing has been ingested into {self.location} yet: run `peacetalks ingest` first."
            )
        hits = zip(
            result["ids"][0],
            (result.get("documents") or [[]])[0],
            (result.get("metadatas") or [[]])[0],
            (result.get("distances") or [[]])[0],
            strict=True,
        )
        # A chunk another process deleted a moment ago can still be in this process's index, without its text and
        # metadata: skip it (the next sync drops it).
        live = [(cid, doc, meta, dist) for cid, doc, meta, dist in hits if doc is not None and meta is not None]
        return [
            Evidence(chunk=Chunk.from_store(cid, doc, dict(meta)), score=1.0 - float(dist), rank=i + 1)
            for i, (cid, doc, meta, dist) in enumerate(live)
        ]

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        """Chunks by id (used to resolve citations and by tests)."""
        if not ids:
            return []
        result = self._chroma(lambda c: c.get(ids=ids, include=["documents", "metadatas"]))
        return self._chunks(result)

    def article_chunks(self, article_id: str) -> list[Chunk]:
        """Every stored chunk of one article (in no particular order)."""
        result = self._chroma(lambda c: c.get(where={"article_id": article_id}, include=["documents", "metadatas"]))
        return self._chunks(result)

    @staticmethod
    def _chunks(result: Any) -> list[Chunk]:
        docs = result.get("documents") or []
        metas = result.get("metadatas") or []
        return [
            Chunk.from_store(cid, doc or "", dict(meta or {}))
            for cid, doc, meta in zip(result["ids"], docs, metas, strict=True)
        ]

    def vocabulary(self) -> set[str]:
        """Every content term of the stored chunks, titles and publishers (kept with the BM25 build, so it follows
        the corpus version too). Lets the answerer tell "the corpus never mentions X" from "retrieval missed X"."""
        return self.keyword.vocabulary()

    @property
    def keyword(self) -> KeywordIndex:
        """The BM25 index over the same chunks, brought up to date with the corpus version first if needed."""
        self._sync()
        return self._keyword

    def _sync(self, force: bool = False) -> None:
        """Follow the corpus version in Chroma: when another process has published a new one, (embedded mode)
        reopen the Chroma files and rebuild this data dir's BM25 cache if it was built from another version.

        Checked at most every ``keyword_refresh_s`` (one small metadata read). While one thread rebuilds, the
        others keep answering from the previous build (old or new state, never a half one); with no build at all
        they wait for it. Builds are serialised across processes sharing the data dir by a file lock, and a
        process that finds the right build already published by another just loads it.
        """
        now = time.monotonic()
        if not force and now - self._checked < self.settings.keyword_refresh_s and self._keyword.ready:
            return
        version = self.corpus_version()
        self._checked = now
        if version != self._seen_version:
            with self._lock:
                if version != self._seen_version:  # another thread may have just done it
                    if self.server is None:
                        self._reconnect()
                    self._seen_version = version
        if not force and self._keyword.corpus_version == version:
            return
        if not self._keyword_build.acquire(blocking=force or not self._keyword.ready):
            return
        try:
            with file_lock(self.settings.data_dir / "bm25.lock"):
                if force or self._keyword.corpus_version != version:
                    ids, texts, metas = self._read_all()
                    self._keyword.rebuild(ids, texts, metas, corpus_version=version)
        finally:
            self._keyword_build.release()

    def _read_all(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        """Every chunk's id, text and metadata, read page by page."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        seen: set[str] = set()
        offset = 0
        while True:
            got = self._page(["documents", "metadatas"], offset)
            for cid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True):
                if cid not in seen:  # a write between two pages can shift one; the next version fixes the rest
                    seen.add(cid)
                    ids.append(cid)
                    texts.append(doc or "")
                    metas.append(dict(meta or {}))
            if len(got["ids"]) < PAGE:
                return ids, texts, metas
            offset += PAGE

    def _page(self, include: list[str], offset: int) -> Any:
        return self._chroma(lambda c: c.get(include=include, limit=PAGE, offset=offset))

    def rebuild_keyword_index(self) -> None:
        """Publish the store as it is now: a new corpus version, and this process's BM25 rebuilt from Chroma (for
        code that writes to ``collection`` directly, like the retrieval benchmark)."""
        self.publish()

    def get_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored embeddings by chunk id."""
        return self.get_chunks_with_vectors(ids)[1]

    def get_chunks_with_vectors(self, ids: list[str]) -> tuple[list[Chunk], dict[str, np.ndarray]]:
        """Chunks and their stored embeddings in one read (keyword-only hits are scored by cosine like dense ones:
        one round trip instead of two matters on a server)."""
        if not ids:
            return [], {}
        got = self._chroma(lambda c: c.get(ids=ids, include=["documents", "metadatas", "embeddings"]))
        embeddings = got.get("embeddings")
        vectors = (
            {}
            if embeddings is None
            else {cid: np.asarray(vec, dtype=np.float32) for cid, vec in zip(got["ids"], embeddings, strict=True)}
        )
        return self._chunks(got), vectors

    def all_chunk_ids(self) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            page = self._page([], offset)
            ids.extend(page["ids"])
            if len(page["ids"]) < PAGE:
                return ids
            offset += PAGE


def reset_store(settings: Settings) -> list[str]:
    """Delete the whole store ``settings`` names: the Chroma collection (embedded files or on the server), the
    ingest records (the data dir's sqlite file, or this collection's rows in a records database elsewhere) and
    the data dir's caches. Returns what was deleted, for the user. The corpus files are never touched."""
    import shutil

    done: list[str] = []
    server = settings.chroma_server
    if server is not None:
        client = connect_chroma(settings)
        try:
            client.delete_collection(settings.collection)
            done.append(f"collection {settings.collection!r} on {server}")
        except NotFoundError:
            pass
        except Exception as error:
            raise _unreachable(server, error) from error
    if settings.records_url:
        engine = sa.create_engine(settings.records_url)
        try:
            with engine.begin() as db:
                tables = set(sa.inspect(db).get_table_names())
                if "articles" in tables:
                    db.execute(sa.delete(ARTICLES))
                if "upsertion_record" in tables:
                    db.execute(
                        sa.text("DELETE FROM upsertion_record WHERE namespace = :ns"),
                        {"ns": f"chroma/{settings.collection}"},
                    )
                if "peacetalks_store" in tables:
                    db.execute(sa.delete(STORE_INFO))
            done.append(f"records in {_safe_url(settings.records_url)}")
        except sa.exc.SQLAlchemyError as error:
            raise StoreUnavailableError(
                f"Cannot reset the records database {_safe_url(settings.records_url)}: {error}"
            ) from error
        finally:
            engine.dispose()
    if settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
        done.append(str(settings.data_dir))
    return done
