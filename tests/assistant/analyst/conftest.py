"""Fixtures of the analyst-view tests: small crafted corpora ingested into real stores with the real embedder.

The articles are written so that each behaviour has one clear case: two agencies reporting the same meeting (one
event, two citations), two dates for the signing of one deal (a conflict), a party that rejects then accepts a
ceasefire on two dated occasions (a change of position), and a hostile article (markup that must show as text).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.analyst.state import ViewsBuilder, ViewsState, load_views, refresh_views
from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.store import ChunkStore
from ingest.pipeline import IngestPipeline, IngestReport, build_ingest_pipeline


def article(title: str, publisher: str, published: str | None, body: str) -> str:
    return (
        "---\n"
        f'title: "{title}"\n'
        f'publisher: "{publisher}"\n'
        f"published: {published or 'null'}\n"
        'license: "test fixture"\n'
        "---\n"
        f"{body}\n"
    )


WIRE = article(
    "Prisoner exchange talks open in Istanbul",
    "Wire Service",
    "2023-06-06",
    "Delegations of Russia and Ukraine met in Istanbul on 5 June 2023 for the first round of talks on a prisoner "
    "exchange, mediated by Turkey.\n\n"
    "The Black Sea grain deal was signed in Istanbul on 22 July 2022 by Russia, Ukraine, Turkey and the United "
    "Nations.\n\n"
    "Ukraine rejected any ceasefire that would freeze the front line.\n",
)
DAILY = article(
    "Istanbul hosts first exchange round",
    "Daily Herald",
    "2023-06-07",
    "On 5 June 2023, the first round of prisoner-exchange talks between the Russian and Ukrainian delegations was "
    "held in Istanbul, Turkey.\n\n"
    "The Black Sea grain deal was signed in Istanbul on 27 July 2022 by Russia, Ukraine, Turkey and the United "
    "Nations.\n",
)
MINISTRY = article(
    "Statement on a temporary ceasefire",
    "Ministry of Foreign Affairs of Ukraine",
    "2024-02-01",
    "Ukraine expressed its readiness to accept a temporary ceasefire if Russia does the same.\n\n"
    "The United States will resume security assistance to Ukraine.\n",
)
# Added to MINISTRY by the incremental tests: a new statement on sanctions, with markup that must stay text.
SANCTIONS_LINE = (
    "Ukraine demands new sanctions <img src=x onerror=alert(1)> on [Russian oil](http://evil.example) exports.\n"
)

FILES = {"a_wire.md": WIRE, "b_daily.md": DAILY, "c_ministry.md": MINISTRY}


def write_corpus(folder: Path, files: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (files or FILES).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@dataclass
class Views:
    """A crafted corpus ingested into a real store, with its views."""

    settings: Settings
    store: ChunkStore
    pipeline: IngestPipeline
    corpus: Path

    def ingest(self) -> IngestReport:
        report = self.pipeline.run([self.corpus])
        assert report.ok, report.errors
        return report

    def refresh(self) -> ViewsState:
        with self.store.writer_lock():
            return refresh_views(self.settings, self.store)

    def state(self) -> ViewsState:
        state = load_views(self.settings)
        assert state is not None
        return state


def make_views(root: Path, embedder: Embedder, files: dict[str, str] | None = None) -> Views:
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus", llm_base_url=None, llm_model=None)
    store = ChunkStore(settings, embedder)
    views = Views(settings, store, build_ingest_pipeline(settings, store, show_progress=False), root / "corpus")
    write_corpus(views.corpus, files)
    views.ingest()
    return views


@pytest.fixture(scope="session")
def crafted(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Views:
    """The crafted corpus with its views built once for the session (read-only: tests must not change it)."""
    views = make_views(tmp_path_factory.mktemp("crafted"), embedder)
    views.refresh()
    return views


@pytest.fixture
def fresh_views(tmp_path: Path, embedder: Embedder) -> Callable[..., Views]:
    """A new crafted corpus in this test's tmp dir (ingested, views not built yet), for tests that change it."""

    def factory(files: dict[str, str] | None = None) -> Views:
        return make_views(tmp_path, embedder, files)

    return factory


def builder(views: Views) -> ViewsBuilder:
    return ViewsBuilder(views.store)
