"""Keyword index, fusion and the hybrid retriever, on real stores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.keyword import KeywordIndex
from assistant.retrieval import (
    ADAPTIVE_DENSE_ALPHA,
    ADAPTIVE_NAMED_ALPHA,
    RetrievalFilters,
    Retriever,
    cap_per_article,
    maximal_marginal_relevance,
    reciprocal_rank_fusion,
    weighted_sum_fusion,
)
from assistant.service import Assistant
from assistant.store import ChunkStore
from ingest.pipeline import IngestPipeline
from tests.conftest import REPO_ROOT


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d"]], k=60)
    ids = [i for i, _ in fused]
    assert ids[0] == "c"  # in both lists
    assert set(ids) == {"a", "b", "c", "d"}
    assert dict(fused)["c"] == pytest.approx(1 / 63 + 1 / 61)


def test_weighted_sum_fusion_weighs_complete_scores_as_z_scores() -> None:
    dense = {"a": 0.62, "b": 0.60, "c": 0.41, "d": 0.30}
    keyword = {"a": 0.0, "b": 9.0, "c": 2.0, "d": 0.0}  # "a" shares no term with the query: a real zero
    assert [cid for cid, _ in weighted_sum_fusion(dense, keyword, alpha=1.0)] == ["a", "b", "c", "d"]
    assert next(cid for cid, _ in weighted_sum_fusion(dense, keyword, alpha=0.5)) == "b"  # high on both
    # z-scores: rescaling or shifting one signal changes nothing (BM25's scale depends on the corpus).
    scaled = {cid: 10 * s + 3 for cid, s in keyword.items()}
    assert dict(weighted_sum_fusion(dense, scaled, 0.5)) == pytest.approx(
        dict(weighted_sum_fusion(dense, keyword, 0.5))
    )
    # A flat signal (no query term in the index) adds nothing: the dense order stands at any weight.
    flat = dict.fromkeys(dense, 0.0)
    assert [cid for cid, _ in weighted_sum_fusion(dense, flat, alpha=0.2)] == ["a", "b", "c", "d"]


def test_a_rebuild_tokenises_only_texts_the_last_build_had_not_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = KeywordIndex(tmp_path / "bm25")
    texts = ["The Minsk Protocol was signed in 2014.", "Resolution 2774 was adopted.", "Grain left Odesa."]
    metas: list[dict[str, object]] = [{"article_id": a, "title": f"Article {a}"} for a in ("a", "b", "c")]
    index.rebuild(["c1", "c2", "c3"], texts, metas)
    seen: list[str] = []
    real = KeywordIndex.tokenize

    def counting(text: str) -> list[str]:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(KeywordIndex, "tokenize", staticmethod(counting))
    # One chunk edited under the same id, one added: only those two texts are tokenised (titles aside).
    edited = ["The Minsk Protocol was signed in 2014.", "Resolution 2774 was adopted unanimously.", "Grain left Odesa."]
    index.rebuild(["c1", "c2", "c3", "c4"], [*edited, "Zaporizhzhia plant talks."], [*metas, {"title": "D"}])
    assert [t for t in seen if "\n" in t] == [
        "Article b\nResolution 2774 was adopted unanimously.",
        "D\nZaporizhzhia plant talks.",
    ]
    monkeypatch.setattr(KeywordIndex, "tokenize", staticmethod(real))
    fresh = KeywordIndex(tmp_path / "fresh")  # the reused terms give the same index as tokenising everything
    fresh.rebuild(["c1", "c2", "c3", "c4"], [*edited, "Zaporizhzhia plant talks."], [*metas, {"title": "D"}])
    for query in ("Minsk 2014", "unanimously adopted resolution", "Odesa grain", "Zaporizhzhia"):
        assert dict(index.search(query, 4)) == pytest.approx(dict(fresh.search(query, 4)))
    # A chunk gone since the last build takes its terms with it; a chunk with no content term is still indexed.
    index.rebuild(["c1", "c3", "c5"], [edited[0], edited[2], "And the of it."], [metas[0], metas[2], {}])
    assert "2774" not in index.vocabulary() and "zaporizhzhia" not in index.vocabulary()
    assert "minsk" in index.vocabulary() and index.chunk_ids() == ["c1", "c3", "c5"]
    fresh.rebuild(["c1", "c3", "c5"], [edited[0], edited[2], "And the of it."], [metas[0], metas[2], {}])
    for query in ("Minsk 2014", "Odesa grain", "Resolution 2774"):
        assert dict(index.search(query, 3)) == pytest.approx(dict(fresh.search(query, 3)))
    # An unreadable terms file only costs the reuse.
    current = (tmp_path / "bm25" / "CURRENT").read_text().strip()
    (tmp_path / "bm25" / current / "terms.npz").write_bytes(b"not a zip")
    index.rebuild(["c1"], ["Grain left Odesa."], [{}])
    assert index.search("Odesa", 1)[0][0] == "c1"


def test_keyword_hits_score_chunks_beyond_the_top(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "bm25")
    texts = ["Minsk Minsk Minsk ceasefire.", "Minsk talks.", "A ceasefire in Minsk and monitoring.", "Grain."]
    metas = [{"article_id": "a", "publisher": "P"}, {"article_id": "b", "publisher": "P"}, {"article_id": "c"}, {}]
    index.rebuild(["c1", "c2", "c3", "c4"], texts, metas)
    everything = dict(index.search("Minsk ceasefire", 4))
    hits = index.search_scored("Minsk ceasefire", 1)
    assert len(hits.top) == 1 and hits.top[0][1] == pytest.approx(max(everything.values()))
    for cid in ("c1", "c2", "c3"):  # chunks past the top-1 keep their real scores, for fusion
        assert hits.score_of(cid) == pytest.approx(everything[cid]) and hits.score_of(cid) > 0
    assert hits.score_of("c4") == 0.0 and hits.score_of("not-indexed") == 0.0
    filtered = index.search_scored("Minsk ceasefire", 1, lambda meta: meta.get("publisher") == "P")
    assert filtered.score_of("c3") == 0.0 and filtered.score_of("c2") > 0  # the filter applies to every score


def test_bm25s_is_imported_in_the_background() -> None:
    """Ingest starts the bm25s import early so its 0.5 s overlaps the embedding: the call returns at once, and the
    library is loaded in its thread (a fresh interpreter, so nothing imported it before)."""
    script = (
        "import sys, threading, time\n"
        "from assistant.keyword import import_bm25s_in_background\n"
        "assert 'bm25s' not in sys.modules\n"
        "started = time.perf_counter(); import_bm25s_in_background(); returned = time.perf_counter() - started\n"
        "for t in threading.enumerate():\n"
        "    if t.name == 'peacetalks-import-bm25s': t.join()\n"
        "print('bm25s' in sys.modules, returned < 0.1)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert done.stdout.split() == ["True", "True"]


def test_cap_per_article_then_refill() -> None:
    article_of = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
    assert cap_per_article(["a1", "a2", "a3", "b1"], article_of, k=3, cap=2) == ["a1", "a2", "b1"]
    assert cap_per_article(["a1", "a2", "a3"], article_of, k=3, cap=2) == ["a1", "a2", "a3"]  # refilled


def test_keyword_index_versions_filters_and_reload(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "bm25")
    assert not index.ready and index.search("Minsk", 3) == []
    ids = ["c1", "c2", "c3"]
    texts = ["The Minsk Protocol was signed in 2014.", "Resolution 2774 was adopted.", "Grain left Odesa."]
    metas = [{"article_id": "a", "publisher": "P"}, {"article_id": "b", "publisher": "Q"}, {"article_id": "c"}]
    index.rebuild(ids, texts, metas)
    assert index.ready
    assert index.search("resolution 2774", 2)[0][0] == "c2"
    assert index.search("Minsk", 3, lambda meta: meta["publisher"] == "Q") == []
    assert index.search("Minsk", 3, lambda meta: meta["publisher"] == "P")[0][0] == "c1"
    assert index.search("zzz unknown words", 3) == []
    reader = KeywordIndex(tmp_path / "bm25")  # another process's view
    assert reader.search("Odesa grain", 1)[0][0] == "c3"
    index.rebuild(["c9"], ["Odesa port reopened."], [{"article_id": "d"}])
    assert reader.search("Odesa", 3)[0][0] == "c9"  # the reader picked up the new version
    assert len([p for p in (tmp_path / "bm25").iterdir() if p.is_dir()]) == 1  # old versions removed


def test_keyword_index_matches_the_article_title_and_rebuilds_an_older_recipe(tmp_path: Path) -> None:
    index = KeywordIndex(tmp_path / "bm25")
    texts = ["The parties agreed on a ceasefire.", "The parties agreed on a ceasefire and on monitoring."]
    metas = [{"article_id": "a", "title": "Minsk Protocol"}, {"article_id": "b", "title": "Jeddah statement"}]
    index.rebuild(["c1", "c2"], texts, metas, corpus_version="v1")
    assert index.search("What did the Minsk Protocol agree?", 2)[0][0] == "c1"  # only its title says "Minsk"
    assert index.corpus_version == "v1"
    # A build made with another recipe (an older peacetalks) reports no version, so the store rebuilds it.
    current = (tmp_path / "bm25" / "CURRENT").read_text().strip()
    manifest = tmp_path / "bm25" / current / "chunks.json"
    data = json.loads(manifest.read_text())
    data.pop("recipe")
    manifest.write_text(json.dumps(data))
    assert KeywordIndex(tmp_path / "bm25").corpus_version is None


@pytest.mark.slow
def test_ingest_keeps_keyword_index_in_step(
    store_and_pipeline: tuple[ChunkStore, IngestPipeline], small_corpus: Path
) -> None:
    store, pipeline = store_and_pipeline
    pipeline.run([small_corpus])
    hits = store.keyword.search("Jeddah Crown Prince Mohammed bin Salman", 3)
    jeddah = "corpus/19_us_ukraine_jeddah_joint_statement_2025-03-11.md"
    assert store.get_chunks([hits[0][0]])[0].article_id == jeddah
    (small_corpus / "19_us_ukraine_jeddah_joint_statement_2025-03-11.md").unlink()
    pipeline.run([small_corpus])
    ids = {cid for cid, _ in store.keyword.search("Jeddah Crown Prince Mohammed bin Salman", 10)}
    assert all(c.article_id != jeddah for c in store.get_chunks(list(ids)))
    assert set(store.all_chunk_ids()) >= ids


@pytest.mark.slow
def test_mmr_moves_a_near_copy_below_a_different_passage() -> None:
    """b repeats a (cosine 0.99) and c says something else: MMR puts c second although b is more relevant, unless
    relevance is all that counts (weight 1); a passage without a vector is never a repeat."""
    vectors = {
        "a": np.array([1.0, 0.0, 0.0]),
        "b": np.array([0.99, 0.141, 0.0]),
        "c": np.array([0.0, 0.0, 1.0]),
        "d": np.array([0.0, 1.0, 0.0]),
    }
    relevance = {"a": 3.0, "b": 2.9, "c": 2.5, "d": 1.0}
    ids = ["a", "b", "c", "d"]
    assert maximal_marginal_relevance(ids, relevance, vectors, weight=0.7) == ["a", "c", "b", "d"]
    assert maximal_marginal_relevance(ids, relevance, vectors, weight=1.0) == ids
    without_b = {cid: v for cid, v in vectors.items() if cid != "b"}
    assert maximal_marginal_relevance(ids, relevance, without_b, weight=0.7) == ids
    assert maximal_marginal_relevance([], relevance, vectors, weight=0.7) == []


def test_mmr_retriever_spreads_over_articles_without_a_cap(corpus_assistant: Assistant) -> None:
    """The MMR alternative returns k distinct passages, the top one unchanged, without the per-article cap."""
    store, embedder = corpus_assistant.store, corpus_assistant.retriever.embedder
    question = "What did the Minsk Protocol say about the OSCE?"
    capped = Retriever(store, embedder).run(question, k=5)
    mmr = Retriever(store, embedder, diversity="mmr", max_per_article=1).run(question, k=5)
    assert len(mmr) == 5 and len({e.chunk.chunk_id for e in mmr}) == 5
    assert mmr[0].chunk.chunk_id == capped[0].chunk.chunk_id
    assert [e.rank for e in mmr] == [1, 2, 3, 4, 5]
    assert len({e.chunk.article_id for e in mmr}) < 5  # max_per_article=1 is not applied


def test_hybrid_finds_names_and_numbers_and_applies_filters(corpus_assistant: Assistant) -> None:
    retriever = Retriever(corpus_assistant.store, corpus_assistant.retriever.embedder, mode="hybrid")
    top = retriever.run("Resolution 2774", k=3)
    assert top[0].chunk.article_id == "corpus/25_wikipedia_unsc_resolution_2774_2025-02-24.md"
    assert [e.rank for e in top] == [1, 2, 3] and all(-1.0 <= e.score <= 1.0 for e in top)
    only = RetrievalFilters(article_id="corpus/05_minsk_protocol_text_mfa_ukraine_2014.md")
    filtered = retriever.run("Resolution 2774", k=5, filters=only)
    assert filtered and {e.chunk.article_id for e in filtered} == {only.article_id}
    assert len(retriever.run("ceasefire", k=5)) == 5


@pytest.mark.slow
def test_adaptive_fusion_weighs_bm25_more_for_named_questions_than_for_others(
    corpus_assistant: Assistant,
) -> None:
    store, embedder = corpus_assistant.store, corpus_assistant.retriever.embedder

    def ids(fusion: str, question: str, alpha: float = 0.5) -> list[str]:
        retriever = Retriever(store, embedder, fusion=fusion, fusion_alpha=alpha)  # type: ignore[arg-type]
        return [e.chunk.chunk_id for e in retriever.run(question, k=5)]

    named = "What did the Bürgenstock communiqué say about Zaporizhzhia?"
    unnamed = "what was agreed about exchanging prisoners of war"
    assert ids("adaptive", named) == ids("weighted", named, ADAPTIVE_NAMED_ALPHA)
    assert ids("adaptive", unnamed) == ids("weighted", unnamed, ADAPTIVE_DENSE_ALPHA)
    # the two weights rank differently (else the rule would not matter)
    assert ids("weighted", named, ADAPTIVE_NAMED_ALPHA) != ids("weighted", named, ADAPTIVE_DENSE_ALPHA)
