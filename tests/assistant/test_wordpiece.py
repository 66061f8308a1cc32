"""Word-by-word token ids give exactly what the model's own tokenizer gives, on prose and on hostile text."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from assistant.embedding import packaged_model_path
from assistant.wordpiece import WordPieceIds, _entry_bytes

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
TOKENIZER_JSON = packaged_model_path() / "tokenizer.json"


@functools.cache
def reference(max_length: int | None = None) -> Tokenizer:
    """The model's tokenizer as ``encode`` would run it (one per truncation length: loading one takes 50 ms)."""
    tokenizer = Tokenizer.from_file(str(TOKENIZER_JSON))
    tokenizer.no_padding()
    if max_length is None:
        tokenizer.no_truncation()
    else:
        tokenizer.enable_truncation(max_length=max_length)
    return tokenizer


@pytest.fixture(scope="module")
def wordpieces() -> WordPieceIds:
    return WordPieceIds.from_file(TOKENIZER_JSON)


def test_corpus_chunks_get_the_tokenizers_ids(wordpieces: WordPieceIds) -> None:
    assert wordpieces.word_by_word  # MiniLM's tokenizer is BERT's: the cached path is the one under test
    text = "\n\n".join(path.read_text(encoding="utf-8") for path in sorted(CORPUS.rglob("*.md")))
    chunks = [text[start : start + 1100] for start in range(0, len(text), 331)]
    truncated, whole = reference(256), reference()
    for chunk in chunks:
        assert wordpieces.ids(chunk, 256) == truncated.encode(chunk).ids
        assert wordpieces.count(chunk) == len(whole.encode(chunk).ids)
    assert sum(wordpieces.count(chunk) > 256 for chunk in chunks) > 10  # truncation was exercised


# Characters where word boundaries, normalisation or pre-tokenisation could differ between a text and its words:
# controls the normaliser drops (\x00, \x1c: whitespace to Python, not to the tokenizer), Unicode spaces, combining
# marks after a space, case mappings that change length, CJK (padded with spaces), the replacement character,
# special tokens written in the text, and words past WordPiece's 100-character limit.
HOSTILE = list("ab Z.,'-\t\n\r\x00\x01\x0b\x0c\x1c\x1f\x7f\x85\xa0\u0301\u0130\u03a3\u2028\u3000\u4e2d\ufffd\u200b")
HOSTILE += ["\U0001f600", "[SEP]", "[MASK]", "##", "x" * 101, "naïve", "İstanbul", "ΟΔΟΣ", "Minsk II", "2,774"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(HOSTILE), max_size=40), st.sampled_from([None, 3, 8, 256]))
def test_hostile_text_gets_the_tokenizers_ids(wordpieces: WordPieceIds, parts: list[str], limit: int | None) -> None:
    text = "".join(parts)
    assert wordpieces.ids(text, limit) == reference(limit).encode(text).ids
    assert wordpieces.count(text) == len(reference().encode(text).ids)


def test_the_cache_is_bounded_and_stays_exact() -> None:
    budget = 3_000
    small = WordPieceIds.from_file(TOKENIZER_JSON, max_cache_bytes=budget)
    text = "the talks in Istanbul resumed on 16 May 2025 after three years without direct negotiations"
    # Runs without spaces (URLs, hostile uploads) count by their size; one too big for the cache is never kept.
    long_words = " ".join(f"https://example.org/{i}/{'x' * 200}" for i in range(3))
    for sample in (text, long_words, text, "a/" * 400):
        assert small.ids(sample) == reference().encode(sample).ids
        held = sum(_entry_bytes(word, pieces) for word, pieces in small._cache.items())
        assert small._cache and held == small._cache_bytes <= budget
        assert all(_entry_bytes(word, pieces) <= budget // 16 for word, pieces in small._cache.items())
    assert "a/" * 400 not in small._cache


def test_a_tokenizer_that_is_not_word_by_word_gets_the_plain_encode() -> None:
    # Metaspace keeps the space before a word inside its token ("▁talks"): the words' ids do not simply concatenate.
    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "▁talks": 3, "▁peace": 4, "▁": 5}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)]
    )
    counter = WordPieceIds(tokenizer)
    assert not counter.word_by_word
    assert (counter.prefix, counter.suffix) == ([1], [2])
    for text in ["Peace talks", "talks  peace", ""]:
        assert counter.ids(text) == tokenizer.encode(text).ids
    assert counter.ids("peace talks peace", max_length=3) == [1, 4, 2]
