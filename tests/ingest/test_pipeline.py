"""Incremental, idempotent ingest against a real Chroma store and the real embedding model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

import ingest.pipeline as pipeline_module
from assistant.models import Article, ArticleMetadata, Chunk
from assistant.store import ChunkStore, StoreError
from ingest.pipeline import IngestPipeline, remove_articles

pytestmark = pytest.mark.slow


def snapshot(store: ChunkStore) -> dict[str, tuple[str, str]]:
    """Every chunk in Chroma: id -> (article, text)."""
    got = store.collection.get(include=["documents", "metadatas"])
    return {
        cid: (str(meta["article_id"]), doc)
        for cid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
    }


def assert_consistent(store: ChunkStore) -> None:
    """Chroma and the record manager hold exactly the same chunk ids, and no text is stored twice per article."""
    chroma_ids = set(store.all_chunk_ids())
    recorded = set(store.record_manager.list_keys())
    assert chroma_ids == recorded
    texts = [(a, t) for a, t in snapshot(store).values()]
    assert len(texts) == len(set(texts)), "duplicate chunk"
    per_article = {r.article_id: r.n_chunks for r in store.list_articles()}
    counted: dict[str, int] = {}
    for article_id, _ in texts:
        counted[article_id] = counted.get(article_id, 0) + 1
    assert counted == per_article


def test_ingest_twice_is_identical(store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path) -> None:
    store, pipeline = store_and_pipeline
    first = pipeline.run([small_corpus])
    assert first.ok and len(first.added) == 4 and first.chunks_embedded == store.count() > 4
    before = snapshot(store)
    second = pipeline.run([small_corpus])
    assert second.ok
    assert (second.added, second.updated, second.deleted) == ([], [], [])
    assert len(second.unchanged) == 4 and second.chunks_embedded == 0
    assert snapshot(store) == before
    assert_consistent(store)


def test_edit_replaces_old_chunks(store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path) -> None:
    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])
    target = small_corpus / "10_us_state_blinken_bsgi_suspension_2023-07-17.md"
    old_text = "The United States deeply regrets Russia’s decision to suspend participation"
    text = target.read_text(encoding="utf-8")
    assert old_text in text
    target.write_text(
        text.replace(old_text, "The United States welcomed the Zanzibar accord instead of regretting the decision"),
        encoding="utf-8",
    )
    report = pipeline.run([small_corpus])
    assert report.ok and report.updated == ["corpus/10_us_state_blinken_bsgi_suspension_2023-07-17.md"]
    assert len(report.unchanged) == 3
    docs = [t for _, t in snapshot(store).values()]
    assert not any(old_text in d for d in docs), "old chunks must be gone"
    assert any("Zanzibar accord" in d for d in docs)
    assert_consistent(store)


def test_removed_article_is_deleted(store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path) -> None:
    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])
    gone = "corpus/22_putin_press_statement_2025-05-11_kremlin.md"
    (small_corpus / "22_putin_press_statement_2025-05-11_kremlin.md").unlink()
    report = pipeline.run([small_corpus])
    assert report.deleted == [gone] and report.chunks_deleted > 0
    assert gone not in {a for a, _ in snapshot(store).values()}
    assert store.get_article(gone) is None
    assert_consistent(store)


def test_no_prune_keeps_removed_articles(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path
) -> None:
    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])
    (small_corpus / "22_putin_press_statement_2025-05-11_kremlin.md").unlink()
    report = pipeline.run([small_corpus], prune=False)
    assert report.deleted == []
    assert len(store.list_articles()) == 4


def test_single_file_ingest_never_prunes_and_matches_folder_ids(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path
) -> None:
    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])
    one = small_corpus / "01_wikipedia_peace_negotiations_2022_oldid1119451603.md"
    report = pipeline.run([one])
    assert report.unchanged == ["corpus/01_wikipedia_peace_negotiations_2022_oldid1119451603.md"]
    assert report.deleted == [] and len(store.list_articles()) == 4


def test_bad_inputs_are_reported_and_others_still_ingested(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path, tmp_path: Path
) -> None:
    store, pipeline = store_and_pipeline
    from fpdf import FPDF

    (small_corpus / "empty.md").write_text("")
    (small_corpus / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (small_corpus / "latin1.txt").write_bytes("Déclaration de Genève".encode("latin-1"))
    (small_corpus / "broken.md").write_text("---\ntitle: [unclosed\n---\nBody text here.\n")
    pdf = FPDF()
    pdf.add_page()
    pdf.output(str(small_corpus / "scan.pdf"))
    missing = tmp_path / "does-not-exist"

    report = pipeline.run([small_corpus, missing])
    assert not report.ok
    reasons = {Path(p.path).name: p.reason for p in report.errors}
    assert set(reasons) == {"empty.md", "binary.md", "latin1.txt", "broken.md", "scan.pdf", "does-not-exist"}
    assert "empty" in reasons["empty.md"]
    assert "binary" in reasons["binary.md"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "front matter" in reasons["broken.md"]
    assert "no extractable text" in reasons["scan.pdf"]
    assert "no such file" in reasons["does-not-exist"]
    assert len(report.added) == 4 and len(store.list_articles()) == 4
    assert_consistent(store)


def test_broken_edit_keeps_previous_version(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path
) -> None:
    """A file that was fine and is now broken is reported; its last good chunks stay (nothing is lost)."""
    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])
    before = snapshot(store)
    (small_corpus / "10_us_state_blinken_bsgi_suspension_2023-07-17.md").write_text("---\ntitle: [x\n---\nx\n")
    report = pipeline.run([small_corpus])
    assert len(report.errors) == 1 and report.deleted == []
    assert snapshot(store) == before


def test_store_write_failure_leaves_no_half_article(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If embedding fails for one article, that article is reported and nothing of it is written; the articles
    that were in the same embedding batch are retried alone and land; the next run heals the failed one."""
    store, pipeline = store_and_pipeline
    embeddings = store.vector_store.embeddings
    real = embeddings.embed_documents

    def flaky(texts: list[str]) -> list[list[float]]:
        if any("Jeddah" in t for t in texts):
            raise RuntimeError("simulated embedding failure")
        return real(texts)

    monkeypatch.setattr(embeddings, "embed_documents", flaky)
    report = pipeline.run([small_corpus])
    assert [Path(e.path).name for e in report.errors] == ["19_us_ukraine_jeddah_joint_statement_2025-03-11.md"]
    assert "simulated embedding failure" in report.errors[0].reason
    assert len(report.added) == 3
    assert "corpus/19_us_ukraine_jeddah_joint_statement_2025-03-11.md" not in {a for a, _ in snapshot(store).values()}
    assert_consistent(store)
    monkeypatch.setattr(embeddings, "embed_documents", real)
    healed = pipeline.run([small_corpus])
    assert healed.ok and len(healed.added) == 1 and len(healed.unchanged) == 3
    assert_consistent(store)


def test_remove_articles(store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path) -> None:
    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])
    deleted = remove_articles(store, ["corpus/01_wikipedia_peace_negotiations_2022_oldid1119451603.md"])
    assert next(iter(deleted.values())) > 0
    assert len(store.list_articles()) == 3
    assert_consistent(store)
    with pytest.raises(KeyError):
        remove_articles(store, ["corpus/nope.md"])


def test_store_refuses_other_embedding_model(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path, embedder
) -> None:
    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])

    class OtherModel:
        model_id = "some/other-model"
        dimension = 768

    with pytest.raises(StoreError, match="other-model"):
        ChunkStore(store.settings, OtherModel())  # type: ignore[arg-type]


def test_copy_of_corpus_folder_elsewhere(store_and_pipeline, small_corpus: Path, tmp_path: Path) -> None:
    """Moving the folder keeps ids (folder name + relative path): nothing is re-embedded or duplicated."""
    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])
    moved = tmp_path / "elsewhere" / "corpus"
    shutil.copytree(small_corpus, moved)
    report = pipeline.run([moved])
    assert len(report.unchanged) == 4 and report.chunks_embedded == 0
    assert_consistent(store)


def test_records_are_readable_while_an_ingest_holds_a_write(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path
) -> None:
    """The records database runs in WAL mode: the app reads article records while ingest has a write open."""
    import sqlite3

    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])
    database = store._engine.url.database
    writer = sqlite3.connect(database, timeout=0.1)
    try:
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        writer.execute("BEGIN EXCLUSIVE")  # with a rollback journal this locks readers out until the commit
        writer.execute("UPDATE articles SET title = 'being rewritten'")
        assert len(store.list_articles()) == 4
        assert all(r.title != "being rewritten" for r in store.list_articles())
    finally:
        writer.rollback()
        writer.close()


def test_article_records_are_read_and_written_in_batches_past_one_sql_list(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline],
) -> None:
    """Ingest reads a folder's records in one call and writes a group's in one transaction: more ids than one SQL
    ``IN`` list holds still all land, a second write replaces rows instead of duplicating them, unknown ids are
    simply absent."""
    import dataclasses

    from assistant.store import SQL_IN_BATCH, ArticleRecord

    store, _ = store_and_pipeline
    n = SQL_IN_BATCH * 2 + 7
    records = [
        ArticleRecord(f"bulk/{i}.md", "bulk", f"{i}.md", f"sha{i}", "fp", f"Title {i}", "Desk", "", "", "", 1, "now")
        for i in range(n)
    ]
    store.put_articles(records)
    store.put_articles([dataclasses.replace(r, n_chunks=2) for r in records[: SQL_IN_BATCH + 1]])
    found = store.get_articles([r.article_id for r in records] + ["bulk/unknown.md"])
    assert set(found) == {r.article_id for r in records}
    assert len(store.list_articles()) == n
    assert [found[r.article_id].n_chunks for r in records] == [2] * (SQL_IN_BATCH + 1) + [1] * (n - SQL_IN_BATCH - 1)
    assert store.get_articles([]) == {}
    store.put_articles([dataclasses.replace(records[0], title="first"), dataclasses.replace(records[0], title="last")])
    assert store.get_articles([records[0].article_id])[records[0].article_id].title == "last"


def test_groups_embedded_ahead_are_embedded_once_and_stored_as_embedded(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Embedding runs ahead of the writes (one article per group here, so later groups are embedded while earlier
    ones are written): every chunk is embedded exactly once, and Chroma holds the model's vector of its text."""
    monkeypatch.setattr(pipeline_module, "GROUP_CHUNKS", 1)
    monkeypatch.setattr(pipeline_module, "AHEAD_CHUNKS", 1)
    store, pipeline = store_and_pipeline
    store.embedder._cache.clear()  # earlier tests embedded these texts: the model must see each of them again
    before = store.embedder.texts_embedded
    report = pipeline.run([small_corpus])
    assert report.ok and len(report.added) == 4
    assert store.embedder.texts_embedded - before == report.chunks_embedded == store.count()
    chunks, vectors = store.get_chunks_with_vectors(store.all_chunk_ids())
    expected = store.embedder._embed([c.text for c in chunks], None)
    stored = np.stack([vectors[c.chunk_id] for c in chunks])
    assert float(np.min(np.sum(stored * expected, axis=1))) > 0.9999
    assert_consistent(store)


def _work(name: str, n_chunks: int, existed: bool = False) -> pipeline_module.ArticleWork:
    article = Article(
        article_id=name, path=f"{name}.md", text="x", content_sha256=name, metadata=ArticleMetadata(title=name)
    )
    chunks = [
        Chunk(
            chunk_id=f"{name}-{i}",
            article_id=name,
            index=i,
            text=f"{name} {i}",
            start=0,
            end=1,
            metadata=article.metadata,
        )
        for i in range(n_chunks)
    ]
    return pipeline_module.ArticleWork("root", article, chunks, existed)


def test_chunks_are_handed_ahead_as_soon_as_a_batch_is_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Embedding starts before the later articles are chunked: each batch of at least AHEAD_CHUNKS new chunks is
    handed over before the next article is asked for; changed articles are not handed over; the rest at the end."""
    monkeypatch.setattr(pipeline_module, "AHEAD_CHUNKS", 3)
    events: list[str] = []
    items = [_work("a", 2), _work("b", 2), _work("changed", 5, existed=True), _work("c", 1), _work("d", 1)]

    def chunked() -> Iterator[pipeline_module.ArticleWork]:
        for item in items:
            events.append(f"chunked {item.article.article_id}")
            yield item

    def submit(texts: Sequence[str]) -> None:
        events.append(f"submit {list(texts)}")

    passed = list(pipeline_module._handed_ahead(chunked(), submit))
    assert passed == items
    assert events == [
        "chunked a",
        "chunked b",
        "submit ['a 0', 'a 1', 'b 0', 'b 1']",
        "chunked changed",
        "chunked c",
        "chunked d",
        "submit ['c 0', 'd 0']",
    ]
