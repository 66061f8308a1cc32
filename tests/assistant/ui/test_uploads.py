"""Uploads from the browser, on a real store: they land and can be asked about, bad ones are refused with a clear
message, and a failed upload changes nothing (not the uploads folder, not the store)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.service import build_assistant
from assistant.ui.chat_tab import ChatHandlers
from assistant.ui.corpus_tab import CorpusHandlers
from assistant.ui.uploads import UploadError
from ingest.pipeline import IngestProblem, IngestReport

pytestmark = pytest.mark.slow

ARTICLE = """---
title: "Lake Ohrid grain corridor memorandum"
publisher: "peacetalks test desk"
published: 2026-01-15
---
The Lake Ohrid memorandum of 15 January 2026 committed both delegations to a humanitarian grain corridor through Izmail.
"""


@pytest.fixture
def corpus(make_settings: Callable[..., Settings], embedder: Embedder) -> CorpusHandlers:
    """The Corpus tab's handlers over an empty store in a temporary data dir."""
    assistant = build_assistant(
        make_settings(max_upload_bytes=2_000, llm_base_url=None, llm_model=None), embedder=embedder
    )
    return CorpusHandlers(assistant, ChatHandlers(assistant))


def _file(tmp_path: Path, name: str, content: str | bytes) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _state(corpus: CorpusHandlers) -> tuple[list[str], int, dict[str, str]]:
    """Articles, chunks, and the uploads folder's files with their hashes (hidden ones included)."""
    folder = corpus.uploads.folder
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()} if folder.exists() else {}
    return [r.article_id for r in corpus.store.list_articles()], corpus.store.count(), files


def test_an_upload_is_ingested_and_answerable(corpus: CorpusHandlers, tmp_path: Path) -> None:
    result = corpus.uploads.add(_file(tmp_path, "ohrid.md", ARTICLE), "ohrid.md")
    assert (result.status, result.article_id, result.chunks) == ("added", "uploads/ohrid.md", 1)
    assert (corpus.settings.data_dir / "uploads" / "ohrid.md").read_text(encoding="utf-8") == ARTICLE
    answer = corpus.assistant.ask("What did the Lake Ohrid memorandum commit the delegations to?")
    assert "Izmail" in answer.text
    assert answer.citations[0].article_id == "uploads/ohrid.md"
    again = corpus.uploads.add(_file(tmp_path, "ohrid.md", ARTICLE), "ohrid.md")
    assert again.status == "unchanged"
    changed = corpus.uploads.add(_file(tmp_path, "ohrid.md", ARTICLE + "\nIt was signed in Ohrid.\n"), "ohrid.md")
    assert changed.status == "updated"
    assert [p.name for p in corpus.uploads.folder.iterdir()] == ["ohrid.md"]  # no backups or temporary files left


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("../../x.md", ARTICLE, "contains a path"),
        ("..\\..\\x.md", ARTICLE, "contains a path"),
        ("/etc/x.md", ARTICLE, "contains a path"),
        ("..x.md", ARTICLE, "'..'"),
        (".hidden.md", ARTICLE, "hidden file names"),
        ("tool.exe", b"MZ\x90\x00", "unsupported file type '.exe'"),
        ("noextension", ARTICLE, "no type suffix"),
        ("empty.md", b"", "the file is empty"),
        ("blank.md", b"   \n\n", "the file is empty"),
        ("big.md", "x" * 3_000, "over the 2,000 bytes limit"),
        ("binary.md", b"\x00\x01\x02\xff" * 10, "binary file, not text"),
        ("scan.pdf", b"not a pdf", "PDF"),
        ("bad_front_matter.md", "---\ntitle: [unclosed\n---\nBody.\n", "front matter is not valid YAML"),
        ("README.md", ARTICLE, "README"),
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(
    corpus: CorpusHandlers, tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    corpus.uploads.add(_file(tmp_path, "kept.md", ARTICLE), "kept.md")
    before = _state(corpus)
    source = _file(tmp_path, "payload", content)
    with pytest.raises(UploadError, match=re.escape(message)):
        corpus.uploads.add(source, name)
    assert _state(corpus) == before
    assert not (tmp_path / "x.md").exists() and not Path("/etc/x.md").exists()


def test_a_replacement_that_fails_to_ingest_restores_the_previous_version(
    corpus: CorpusHandlers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus.uploads.add(_file(tmp_path, "ohrid.md", ARTICLE), "ohrid.md")
    before = _state(corpus)
    pipeline = corpus.pipeline()

    def failing_run(paths: list[Path], prune: bool = True) -> IngestReport:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "run", failing_run)
    with pytest.raises(UploadError, match="ingest failed \\(RuntimeError: disk full\\)"):
        corpus.uploads.add(_file(tmp_path, "ohrid.md", ARTICLE + "\nA new paragraph.\n"), "ohrid.md")
    assert _state(corpus) == before
    monkeypatch.undo()
    # A new file whose ingest reports an error is taken back out again.
    report = IngestReport()
    report.errors.append(IngestProblem(str(corpus.uploads.folder / "new.md"), "no text to index after chunking"))
    monkeypatch.setattr(pipeline, "run", lambda paths, prune=True: report)
    with pytest.raises(UploadError, match="no text to index"):
        corpus.uploads.add(_file(tmp_path, "new.md", ARTICLE), "new.md")
    assert _state(corpus) == before


def test_remove_deletes_an_upload_and_its_file(corpus: CorpusHandlers, tmp_path: Path) -> None:
    corpus.uploads.add(_file(tmp_path, "ohrid.md", ARTICLE), "ohrid.md")
    assert corpus.uploads.remove("uploads/ohrid.md") == 1
    assert corpus.store.get_article("uploads/ohrid.md") is None
    assert not (corpus.uploads.folder / "ohrid.md").exists()
    with pytest.raises(UploadError, match="not in the corpus"):
        corpus.uploads.remove("uploads/ohrid.md")


def test_corpus_handlers_report_each_file_and_refresh_the_views(corpus: CorpusHandlers, tmp_path: Path) -> None:
    good = _file(tmp_path, "ohrid.md", ARTICLE)
    bad = _file(tmp_path, "tool.exe", b"MZ")
    odd = _file(tmp_path, "notes <b>.md", ARTICLE)
    message, cleared, table, summary, publishers, examples = corpus.add_files([str(good), str(bad), str(odd)])
    assert "✓ Added **ohrid\\.md** (1 passages) as <code>uploads/ohrid\\.md</code>" in message
    assert "✗ **Not added:** 'tool\\.exe'\\: unsupported file type '\\.exe'" in message
    assert "✗ **Not added:** 'notes &lt;b&gt;\\.md'\\: the file name contains the character '&lt;'" in message
    assert cleared is None
    assert list(table["Title"]) == ["Lake Ohrid grain corridor memorandum"]
    assert summary.startswith("**1 articles**")
    assert "peacetalks test desk" in publishers["choices"]
    assert any("Lake Ohrid" in e["text"] for e in examples["examples"])

    reader, selected, remove_button = corpus.read("uploads/ohrid.md")
    assert "Lake Ohrid grain corridor memorandum" in reader and "Izmail" in reader and selected == "uploads/ohrid.md"
    assert remove_button["visible"] is True
    removed = corpus.remove("uploads/ohrid.md")
    assert removed[0].startswith("Removed <code>uploads/ohrid\\.md</code> (1 passages)")
    assert corpus.remove("")[0] == "*Removal cancelled.*"


def test_reingest_resyncs_the_corpus_folder(corpus: CorpusHandlers, small_corpus: Path) -> None:
    message, table, *_ = corpus.reingest()
    assert "articles\\: 4 added" in message
    assert len(table) == 4
    (small_corpus / "10_us_state_blinken_bsgi_suspension_2023-07-17.md").unlink()
    message, table, *_ = corpus.reingest()
    assert "1 deleted" in message and len(table) == 3
