"""Citation verification: every sentence of an answer is checked against the passages it cites, whoever wrote it.

The promise of peacetalks is that each claim is backed by a passage the reader can click. Resolving markers
(``assistant.citations``) only proves that ``[n]`` points at *a* retrieved passage; this step asks a support judge
(``assistant.support``) whether that passage states what the sentence says:

* a citation whose passage supports nothing in its sentence is dropped (when another citation of the same sentence
  does support it, or when none does);
* a sentence none of whose citations support it — alone or taken together — is marked unsupported, and so is a
  sentence that states a fact but cites nothing;
* in strict mode unsupported sentences are removed instead of marked;
* the answer carries a groundedness score: the share of its factual sentences that verification backed.

Citations are then renumbered 1..m in order of first appearance, so the sources list still matches the text.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.base import ABSTAIN_TEXT
from assistant.answering.composition import DISAGREEMENT_TEXT, split_source_date
from assistant.answering.lexical import content_terms
from assistant.citations import MARKER, SPACED_MARKER, abstention_phrase, renumber_marker
from assistant.injection import neutralise
from assistant.models import Citation, SentenceCheck
from assistant.support import SupportJudge, SupportVerdict
from assistant.text import split_sentences, strip_footnotes

_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Segment:
    """One sentence of an answer with the markers that belong to it: ``text[start:end]`` of the answer."""

    start: int
    end: int
    claim: str  # the sentence without markers
    cites: list[int]


@dataclass
class VerifiedAnswer:
    """The answer after verification: text and citations renumbered, one check per sentence, a score, notices."""

    text: str
    citations: list[Citation]
    checks: list[SentenceCheck]
    groundedness: float | None
    notices: list[str]


def segment_answer(text: str) -> list[Segment]:
    """Split answer text into sentences; markers opening a sentence belong to the one before ("Claim. [1] Next.")."""
    segments: list[Segment] = []
    for span in split_sentences(text):
        lead = _LEADING_MARKERS.match(span.text)
        start = span.start
        if lead and segments:
            previous = segments[-1]
            segments[-1] = Segment(
                previous.start,
                span.start + lead.end(),
                previous.claim,
                previous.cites + _numbers(lead.group(0)),
            )
            start = span.start + lead.end()
            while start < span.end and text[start].isspace():
                start += 1
            if start >= span.end:
                continue
        piece = text[start : span.end]
        segments.append(Segment(start, span.end, SPACED_MARKER.sub("", piece).strip(), _numbers(piece)))
    return segments


def _numbers(text: str) -> list[int]:
    found: list[int] = []
    for group in MARKER.findall(text):
        for n in re.split(r"[,;]", group):
            if int(n) not in found:
                found.append(int(n))
    return found


_MARKERS_ONLY = re.compile(r"\[\d+(?:\s*[,;]\s*\d+)*\]")


def states_a_fact(claim: str) -> bool:
    """True for a sentence that asserts something checkable; False for abstentions, hedges and connective scraps.

    Such sentences are exempt from verification: "The corpus does not say." needs no source.
    """
    if abstention_phrase(claim) or claim.strip() in (ABSTAIN_TEXT, DISAGREEMENT_TEXT):
        return False
    # A bare figure is a claim too: Qwen2.5-Coder once answered "4548321 [1]" to a question its passages did not
    # answer.
    return len(content_terms(claim)) >= 2 or bool(re.search(r"\d", _MARKERS_ONLY.sub("", claim)))


def _normalise(text: str) -> str:
    return _WHITESPACE.sub(" ", strip_footnotes(text)).strip().lower()


def _verbatim(claim: str, passage: str) -> bool:
    """A sentence quoted word for word from its passage is supported without asking the judge (the extractive
    backend's answers are quotes; this keeps verification off the embedding model for them)."""
    needle = _normalise(claim).rstrip(".!?…").strip()
    return len(needle) >= 12 and needle in _normalise(passage)


class CitationVerifier:
    """Checks each answer sentence against the passages it cites (see the module docstring)."""

    def __init__(self, judge: SupportJudge, *, strict: bool = False) -> None:
        self.judge = judge
        self.strict = strict

    def _verdict(self, claim: str, passages: Sequence[str]) -> SupportVerdict:
        if len(passages) == 1 and _verbatim(claim, passages[0]):
            return SupportVerdict(True, 1.0, "", "verbatim")
        return self.judge.judge(claim, passages)

    def check(self, claim: str, cited: dict[int, str]) -> tuple[bool, float, list[int], str]:
        """-> (supported, score, numbers that support the claim, reason when unsupported)."""
        if not cited:
            return False, 0.0, [], "cites no passage"
        verdicts = {n: self._verdict(claim, [passage]) for n, passage in cited.items()}
        backing = [n for n, v in verdicts.items() if v.supported]
        if backing:
            return True, max(verdicts[n].score for n in backing), backing, ""
        if len(cited) > 1:
            joint = self.judge.judge(claim, list(cited.values()))
            if joint.supported:
                return True, joint.score, list(cited), ""
        best = max(verdicts.values(), key=lambda v: v.score)
        listed = ", ".join(f"[{n}]" for n in cited)
        return False, best.score, [], f"{listed} does not state this ({best.reason or 'weak match'})"

    def run(self, text: str, citations: Sequence[Citation]) -> VerifiedAnswer:
        """Verify ``text`` (markers already resolved to ``citations``) and return it renumbered and annotated."""
        by_number = {c.number: c for c in citations}
        pieces: list[tuple[str, Segment | None]] = []  # (text between segments, None) or (segment text, segment)
        cursor = 0
        for found in segment_answer(text):
            pieces.append((text[cursor : found.start], None))
            pieces.append((text[found.start : found.end], found))
            cursor = found.end
        pieces.append((text[cursor:], None))

        numbering: dict[int, int] = {}
        out: list[str] = []
        checks: list[SentenceCheck] = []
        removed = dropped_total = 0
        for piece, segment in pieces:
            if segment is None:
                out.append(piece)
                continue
            # Judged against the passage without its instruction-like sentences: an LLM that obeyed an injected
            # "say that ..." must not have that claim count as supported by the very passage that ordered it.
            cited = {n: neutralise(by_number[n].passage) for n in segment.cites if n in by_number}
            if not states_a_fact(segment.claim):
                kept = list(cited)  # not a claim: leave its markers alone (rare: "See also [2].")
                supported, score, reason, factual = True, 1.0, "", False
            else:
                # "(source dated 11 March 2025) ..." (the extractive backend's dated answers): the label is the cited
                # article's publication date, checked against its metadata; the rest against its text.
                label_date, claim = split_source_date(segment.claim)
                supported, score, kept, reason = self.check(claim, cited)
                if supported and label_date is not None:
                    kept = [n for n in kept if (by_number[n].published or "")[:10] == label_date]
                    if not kept:
                        supported, score, reason = False, 0.0, f"no cited source is dated {label_date}"
                factual = True
            if factual and not supported and self.strict:
                removed += 1
                if out and not out[-1].strip():
                    out.pop()  # the gap before a removed sentence goes with it
                continue
            for n in kept:
                numbering.setdefault(n, len(numbering) + 1)
            dropped = [n for n in segment.cites if n not in kept]
            dropped_total += len(dropped)
            renumbering = {n: numbering[n] for n in kept}
            new_piece = SPACED_MARKER.sub(functools.partial(renumber_marker, numbering=renumbering), piece)
            start = sum(len(p) for p in out)
            out.append(new_piece)
            if factual:
                checks.append(
                    SentenceCheck(
                        text=new_piece,
                        start=start,
                        end=start + len(new_piece),
                        supported=supported,
                        score=round(score, 3),
                        citations=[numbering[n] for n in kept],
                        dropped=dropped,
                        reason=reason,
                    )
                )

        joined = "".join(out)
        new_text = joined.strip()
        if lead := len(joined) - len(joined.lstrip()):
            checks = [dataclasses.replace(c, start=c.start - lead, end=c.end - lead) for c in checks]
        kept_citations = [
            dataclasses.replace(by_number[old], number=new)
            for old, new in sorted(numbering.items(), key=lambda item: item[1])
        ]
        notices: list[str] = []
        unsupported = sum(1 for c in checks if not c.supported)
        if removed:
            notices.append(f"Strict mode removed {removed} sentence(s) that their citations do not support.")
        elif unsupported:
            notices.append(f"{unsupported} sentence(s) of this answer are not supported by the passages they cite.")
        if dropped_total:
            notices.append(f"Dropped {dropped_total} citation(s) whose passages do not state what the sentence says.")
        factual_total = len(checks) + removed
        groundedness = (len(checks) - unsupported) / factual_total if factual_total else None
        return VerifiedAnswer(new_text, kept_citations, checks, groundedness, notices)
