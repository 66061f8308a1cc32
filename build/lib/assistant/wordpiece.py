"""A BERT tokenizer's token ids, computed word by word with a cache: the same ids as ``Tokenizer.encode``, cheaper.

Ingest runs the embedding model's tokenizer over every chunk twice: the chunker checks that a chunk fits the model's
window, and the embedder feeds it to the model. HF ``tokenizers`` spends about 0.6 ms on a 220-token chunk, most of
it normalising and pre-tokenising with alignment tracking, and news prose repeats a few thousand words. Looking each
word up in a cache costs a few microseconds.

Why it gives the same ids: a BERT tokenizer (``BertNormalizer``, ``BertPreTokenizer``, ``WordPiece``) makes a word
boundary of every ASCII space, tab, CR and LF, and normalises character by character (cleaning, CJK padding,
accents, lower case). It then cuts each word into word pieces independently. So the ids of a text are the ids of its
runs between those four characters, in order, inside the special tokens. Any other character, like a no-break space,
a control character or a CJK ideograph, stays inside its run, and the tokenizer itself handles it when it encodes
that run. Tokenizers that do not decompose this way (byte-level BPE, SentencePiece) get the plain ``encode``.
``tests/assistant/test_wordpiece.py`` checks the equality on the corpus and on adversarial text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

# The characters every BERT tokenizer treats as word boundaries (BertNormalizer turns tab, CR and LF into spaces).
_RUN = re.compile(r"[^ \t\n\r]+")
_BOUNDARY = re.compile(r"[ \t\n\r]")
# The cache's memory budget, counted per entry as the word, its id list and their Python object overheads. Past it
# the cache starts over, so no input (hostile runs of distinct words included) can grow it without bound.
MAX_CACHE_BYTES = 32 * 1024 * 1024


def _entry_bytes(word: str, pieces: list[int]) -> int:
    return 120 + len(word) + 36 * len(pieces)  # str and list headers, the characters, a pointer and an int per id


class WordPieceIds:
    """``ids(text, max_length)`` and ``count(text)`` for one tokenizer, as ``encode`` (special tokens, truncation)."""

    def __init__(self, tokenizer: Tokenizer, max_cache_bytes: int = MAX_CACHE_BYTES) -> None:
        self.tokenizer = tokenizer
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.max_cache_bytes = max_cache_bytes
        self._cache: dict[str, list[int]] = {}
        self._cache_bytes = 0
        self.prefix, self.suffix = _special_tokens(tokenizer)
        self.word_by_word = _decomposes_into_words(json.loads(tokenizer.to_str()))

    @classmethod
    def from_file(cls, tokenizer_json: Path, max_cache_bytes: int = MAX_CACHE_BYTES) -> WordPieceIds:
        return cls(Tokenizer.from_file(str(tokenizer_json)), max_cache_bytes)

    def _body(self, text: str) -> list[int]:
        if not self.word_by_word:
            return list(self.tokenizer.encode(text, add_special_tokens=False).ids)
        body: list[int] = []
        cache = self._cache
        for word in _RUN.findall(text):
            pieces = cache.get(word)
            if pieces is None:
                pieces = list(self.tokenizer.encode(word, add_special_tokens=False).ids)
                size = _entry_bytes(word, pieces)
                if size <= self.max_cache_bytes // 16:  # a giant run is encoded, never kept: it cannot evict the rest
                    if self._cache_bytes + size > self.max_cache_bytes:
                        cache.clear()
                        self._cache_bytes = 0
                    cache[word] = pieces
                    self._cache_bytes += size
            body += pieces
        return body

    def ids(self, text: str, max_length: int | None = None) -> list[int]:
        """The ids ``encode(text)`` gives, special tokens included, truncated (right) to ``max_length`` in all."""
        body = self._body(text)
        if max_length is not None:
            body = body[: max(max_length - len(self.prefix) - len(self.suffix), 0)]
        return [*self.prefix, *body, *self.suffix]

    def count(self, text: str) -> int:
        """How many tokens the model reads for ``text`` untruncated, special tokens included."""
        return len(self.prefix) + len(self._body(text)) + len(self.suffix)


def _special_tokens(tokenizer: Tokenizer) -> tuple[list[int], list[int]]:
    """The ids the post-processor puts before and after a text ([CLS] and [SEP] for BERT), found by probing."""
    body = tokenizer.encode("a", add_special_tokens=False).ids
    full = tokenizer.encode("a").ids
    for start in range(len(full) - len(body) + 1):
        if full[start : start + len(body)] == body:
            return list(full[:start]), list(full[start + len(body) :])
    raise ValueError("the tokenizer's post-processor does not keep the text's ids together")


def _decomposes_into_words(spec: dict[str, Any]) -> bool:
    """True for a BERT-style tokenizer whose ids split at ASCII whitespace (see the module docstring)."""

    def kind(part: str) -> Any:
        return (spec.get(part) or {}).get("type")

    added_with_boundaries = any(_BOUNDARY.search(token.get("content", "")) for token in spec.get("added_tokens", []))
    return (
        kind("normalizer") in (None, "BertNormalizer")
        and kind("pre_tokenizer") == "BertPreTokenizer"
        and kind("model") == "WordPiece"
        and not added_with_boundaries
    )
