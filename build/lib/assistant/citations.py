"""Turn a backend's draft into an answer whose every ``[n]`` resolves to a stored passage and an exact quote.

Markers that point to no retrieved passage are removed and reported; the rest are renumbered 1..m in order of first
appearance, so the reader sees [1], [2] ... and the sources list matches. Each citation carries the passage and the
sentence of it that the answer rests on (offsets in the article), for the UI to highlight. The generation issue adds
support checking of every sentence on top of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answering.base import ABSTAIN_TEXT, Draft, DraftSentence
from assistant.answering.lexical import content_terms
from assistant.models import Citation, Evidence
from assistant.text import Span, split_sentences

MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# A run of markers with the whitespace before it, handled as one group: a dropped marker takes its space along
# ("Claim [9]." -> "Claim.") and a kept one keeps it ("Claim [9][2]." -> "Claim [1].").
SPACED_MARKER = re.compile(r"(\s*)((?:\[\d+(?:\s*[,;]\s*\d+)*\])+)")


def renumber_marker(match: re.Match[str], numbering: dict[int, int]) -> str:
    """Replace one (spaced) marker group by the kept numbers, or by nothing when none is kept."""
    kept: list[int] = []
    for n in _numbers(match.group(0)):
        if n in numbering and numbering[n] not in kept:
            kept.append(numbering[n])
    return match.group(1) + "".join(f"[{n}]" for n in kept) if kept else ""


_ABSTAIN_PATTERNS = re.compile(
    r"corpus does not say|passages do not (?:say|answer|contain|mention)|cannot answer|no information",
    re.IGNORECASE,
)


def abstention_phrase(text: str) -> bool:
    """True when the text says the passages do not answer ("The corpus does not say", "cannot answer", ...)."""
    return bool(_ABSTAIN_PATTERNS.search(text))


@dataclass
class ResolvedCitations:
    text: str
    citations: list[Citation]
    abstained: bool
    notices: list[str]


def parse_sentences(text: str) -> list[DraftSentence]:
    """Split generated text into sentences with the ranks they cite; a marker opening a sentence belongs to the
    sentence before it ("Claim. [1] Next claim. [2]")."""
    sentences: list[DraftSentence] = []
    for span in split_sentences(text):
        piece = span.text
        lead = re.match(r"^(\s*\[\d+(?:\s*[,;]\s*\d+)*\])+", piece)
        if lead and sentences:
            sentences[-1].cites.extend(_numbers(lead.group(0)))
            piece = piece[lead.end() :].strip()
            if not piece:
                continue
        sentences.append(DraftSentence(MARKER.sub("", piece).strip(), _numbers(piece)))
    return sentences


def _numbers(text: str) -> list[int]:
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"[,;]", group)]


def best_quote(sentence: str, evidence: Evidence) -> Span:
    """The sentence of a passage that shares most content words with an answer sentence (the passage if none)."""
    target = set(content_terms(sentence))
    spans = split_sentences(evidence.chunk.text, offset=evidence.chunk.start)
    if not spans:
        return Span(evidence.chunk.text, evidence.chunk.start, evidence.chunk.end)
    return max(spans, key=lambda s: len(target & set(content_terms(s.text))) / (1 + 0.01 * len(s.text)))


def resolve_citations(draft: Draft, evidence: list[Evidence]) -> ResolvedCitations:
    """Map the draft's markers to evidence, drop invalid ones, renumber, and attach quotes."""
    by_rank = {ev.rank: ev for ev in evidence}
    sentences = draft.sentences if draft.sentences is not None else parse_sentences(draft.text)
    notices: list[str] = []
    invalid = sorted({n for s in sentences for n in s.cites if n not in by_rank})
    if invalid:
        listed = ", ".join(f"[{n}]" for n in invalid)
        notices.append(f"Removed citation(s) {listed}: they point to no retrieved passage (1–{len(evidence)}).")

    numbering: dict[int, int] = {}
    quotes: dict[int, list[Span]] = {}
    for sentence in sentences:
        for rank in sentence.cites:
            if rank not in by_rank:
                continue
            numbering.setdefault(rank, len(numbering) + 1)
            quote = sentence.quotes.get(rank) or best_quote(sentence.text, by_rank[rank])
            quotes.setdefault(rank, []).append(quote)

    text = SPACED_MARKER.sub(lambda m: renumber_marker(m, numbering), draft.text).strip()
    citations = []
    for rank, number in sorted(numbering.items(), key=lambda item: item[1]):
        ev, spans = by_rank[rank], quotes[rank]
        meta = ev.chunk.metadata
        citations.append(
            Citation(
                number=number,
                chunk_id=ev.chunk.chunk_id,
                article_id=ev.chunk.article_id,
                title=meta.title,
                publisher=meta.publisher,
                published=meta.published,
                source=meta.source,
                passage=ev.chunk.text,
                passage_start=ev.chunk.start,
                passage_end=ev.chunk.end,
                quote=spans[0].text,
                quote_start=spans[0].start,
                quote_end=spans[0].end,
                highlights=sorted({(s.start, s.end) for s in spans}),
            )
        )
    abstained = draft.abstained or (not citations and abstention_phrase(text))
    if not citations and not abstained:
        notices.append("This answer cites no passage of the corpus: treat it as unsupported.")
    if abstained and not text:
        text = ABSTAIN_TEXT
    return ResolvedCitations(text=text, citations=citations, abstained=abstained, notices=notices)


class StreamingRenumberer:
    """Renumbers ``[n]`` markers in streamed text exactly as ``resolve_citations`` will in the final answer.

    Numbers follow first appearance; markers pointing to no passage are dropped. A piece that ends inside a
    possible marker ("... [1") is held back until the marker is complete, so the reader never sees a raw rank.
    """

    def __init__(self, valid_ranks: set[int]) -> None:
        self.valid = valid_ranks
        self.numbering: dict[int, int] = {}
        self._pending = ""
        self._started = False

    def _renumber(self, match: re.Match[str]) -> str:
        for n in _numbers(match.group(0)):
            if n in self.valid:
                self.numbering.setdefault(n, len(self.numbering) + 1)
        return renumber_marker(match, self.numbering)

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        # Hold back trailing whitespace and markers (complete or still being written): a run of markers is
        # renumbered as one group, and whether the space before it survives depends on what follows (a dropped
        # marker takes it along; the end of the answer trims it).
        held = re.search(r"(?:\s*\[[\d\s,;]*\]?)*\s*$", text)
        cut = held.start() if held else len(text)
        text, self._pending = text[:cut], text[cut:]
        out = SPACED_MARKER.sub(self._renumber, text)
        if not self._started:
            out = out.lstrip()
            self._started = bool(out)
        return out

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        out = SPACED_MARKER.sub(self._renumber, rest).rstrip()
        return out if self._started else out.strip()
