"""Chunking hostile text (hypothesis): every chunk fits the token budget, gives back its text from its offsets, and
the chunks cover the article in order, deterministically, whatever the text: zero-width and right-to-left marks,
combining characters, megabyte-long words, runs of punctuation or whitespace."""

from __future__ import annotations

import itertools
import time
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from assistant.models import Article, ArticleMetadata, Chunk
from ingest.chunking import ChunkingConfig, SentenceChunker, load_tokenizer

ZERO_WIDTH_AND_BIDI = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2069"


@pytest.fixture(scope="module")
def chunkers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SentenceChunker]:
    tokenizer = load_tokenizer(tmp_path_factory.mktemp("tiktoken"))
    return {
        "default": SentenceChunker(tokenizer, ChunkingConfig(max_tokens=180, overlap_tokens=40)),
        "small": SentenceChunker(tokenizer, ChunkingConfig(max_tokens=24, overlap_tokens=6)),
        "tiny": SentenceChunker(tokenizer, ChunkingConfig(max_tokens=5, overlap_tokens=1)),
    }


def _article(text: str) -> Article:
    return Article("prop/a.md", "/prop/a.md", text, ArticleMetadata(title="T"), "0" * 64)


def _check(chunker: SentenceChunker, text: str) -> list[Chunk]:
    """Run the chunker and assert every promise it makes; returns the chunks."""
    article = _article(text)
    chunks = chunker.run(article)
    budget = chunker.config.max_tokens
    for index, chunk in enumerate(chunks):
        assert chunk.index == index and chunk.chunk_id == f"prop/a.md#{index}"
        assert text[chunk.start : chunk.end] == chunk.text, "offsets give back the chunk's text"
        assert chunk.text and chunk.text == chunk.text.strip()
        assert len(chunker.tokenizer.encode(chunk.text, disallowed_special=())) <= budget, "chunk over budget"
    for before, after in itertools.pairwise(chunks):
        assert after.start > before.start and after.end > before.end, "chunks move forward"
        assert after.start <= before.end or not text[before.end : after.start].strip(), "no text skipped"
    covered = [False] * len(text)
    for chunk in chunks:
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    missed = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missed, f"characters in no chunk: {[text[i] for i in missed[:10]]}"
    assert (not chunks) == (not text.strip())
    return chunks


hostile_chars = st.one_of(
    st.sampled_from(list(ZERO_WIDTH_AND_BIDI + "\u0301\u0308\u0327\u20dd\ufe0f")),  # invisible and combining
    st.sampled_from(list(" \n\n\t.!?…\"')][1234567890#-*•")),  # what sentence splitting looks at
    st.sampled_from(["U.S.", "No. 3", "e.g.", "[12]", "3.5", "\n\n## ", "\n- ", "Mr. "]),
    st.sampled_from(list("שלום مرحبا Мир 和平 😀👍🏽")),
    st.characters(codec="utf-8", exclude_categories=["Cs"]),
)
hostile_text = st.lists(hostile_chars, max_size=400).map("".join)


@settings(max_examples=80)
@given(text=hostile_text, which=st.sampled_from(["default", "small", "tiny"]))
@example(text="\u200b" * 50, which="tiny")
@example(text="e" + "\u0301" * 40, which="tiny")
@example(text="\u202e" + "word " * 30, which="small")
def test_chunks_of_arbitrary_text_keep_every_promise(
    chunkers: dict[str, SentenceChunker], text: str, which: str
) -> None:
    _check(chunkers[which], text)


@settings(max_examples=40)
@given(text=hostile_text, which=st.sampled_from(["default", "small"]))
def test_chunking_is_deterministic(chunkers: dict[str, SentenceChunker], text: str, which: str) -> None:
    first = chunkers[which].run(_article(text))
    assert chunkers[which].run(_article(text)) == first
    assert chunkers[which].run(_article(text + "")) == first


@settings(max_examples=30)
@given(
    word=st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]), min_size=1),
    repeat=st.integers(50, 600),
    which=st.sampled_from(["default", "small", "tiny"]),
)
def test_words_longer_than_a_chunk_are_cut_hard(
    chunkers: dict[str, SentenceChunker], word: str, repeat: int, which: str
) -> None:
    text = (word * repeat).strip()
    chunks = _check(chunkers[which], text)
    if chunks and not any(ch.isspace() for ch in text):  # one long word: its pieces run from its start to its end
        assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_one_megabyte_word_is_cut_into_chunks_within_budget(chunkers: dict[str, SentenceChunker]) -> None:
    for text in ("peace" * 200_000, "a" * 300_000, "和平" * 50_000):
        started = time.perf_counter()
        chunks = _check(chunkers["default"], text)
        assert len(chunks) > 100
        assert time.perf_counter() - started < 30, "chunking a 1 MB word must stay about linear"


@pytest.mark.parametrize(
    "text",
    [
        "." * 200_000 + "x",  # quadratic in the former sentence-boundary regex: hours
        "a. " * 30_000,  # lower-case continuations: each used to copy the rest of the text (minutes)
        "Word. " * 20_000,  # each abbreviation check used to search the whole text before it
        "x" * 200_000 + ". end",
        "a. " + " " * 300_000 + "b.",  # whitespace between two sentences is tokens too
        ("Sentence one. " + " " * 20_000) * 20,
        "\u200b" * 50_000,
        "e\u0301" * 30_000,
        "\u202e" + "right to left " * 5_000,
        "\n\n".join(["#"] * 20_000),
    ],
    ids=["dots", "lower-continuations", "short-sentences", "long-word", "wide-gap", "gaps", "zero-width",
         "combining", "rtl", "headings"],
)  # fmt: skip
def test_pathological_shapes_stay_fast(chunkers: dict[str, SentenceChunker], text: str) -> None:
    started = time.perf_counter()
    _check(chunkers["default"], text)
    assert time.perf_counter() - started < 20


def test_hard_cuts_do_not_split_combining_sequences(chunkers: dict[str, SentenceChunker]) -> None:
    text = "e\u0301\u0327" * 1000 + "n\u0303" * 1000
    for chunk in _check(chunkers["small"], text):
        assert not unicodedata.combining(chunk.text[0]), "a chunk starts with a mark cut from its letter"


def test_long_sentences_are_cut_at_words_when_words_fit(chunkers: dict[str, SentenceChunker]) -> None:
    words = [f"w{i}" for i in range(3000)]
    text = " ".join(words) + "."
    for chunk in _check(chunkers["small"], text):
        before = text[chunk.start - 1] if chunk.start else " "
        after = text[chunk.end] if chunk.end < len(text) else " "
        assert before == " " and after == " ", "a chunk of a long sentence begins and ends on word boundaries"


def test_overlap_is_whole_trailing_pieces_within_budget(chunkers: dict[str, SentenceChunker]) -> None:
    text = " ".join(f"Sentence number {i} says something." for i in range(200))
    chunker = chunkers["default"]
    chunks = _check(chunker, text)
    overlapping = 0
    for before, after in itertools.pairwise(chunks):
        if after.start < before.end:
            overlapping += 1
            overlap = text[after.start : before.end]
            assert before.text.endswith(overlap)
            assert len(chunker.tokenizer.encode(overlap)) <= chunker.config.overlap_tokens
    assert overlapping > 5


def test_empty_and_whitespace_text_give_no_chunks(chunkers: dict[str, SentenceChunker]) -> None:
    for text in ("", " ", "\n\n\t"):
        assert chunkers["default"].run(_article(text)) == []
