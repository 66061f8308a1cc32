"""The stance board: for each party × issue, the best-supported statements of that party's position, newest first.

Per article (so an unchanged article is never re-read), every sentence — or anaphoric sentence joined to the one
before it — that is about an issue (``vocabulary.ISSUES``) and in which a party *holds a position* becomes a
candidate for that cell. A party holds a position when it is named (or one of its officials, its capital, or "we" in
a statement the party publishes) right before a position word ("Russia's terms are ...", "Ukraine expressed its
readiness to accept ...", "The United States deeply regrets ..."). A sentence that merely mentions a party does not.

A cell is built from its candidates with the answer machinery: the candidates' chunks are ranked against a query
made of the party's names and the issue's words (cosine with the stored chunk vectors: retrieval restricted to the
passages that can answer), and

* with the extractive backend (default), the candidates are scored exactly as the extractive answerer scores
  sentences (``ExtractiveAnswerer.score_sentences``), near-duplicates from several articles merged into one
  statement with several sources, and the best few kept;
* with an LLM backend, the model answers "What is <party>'s position on <issue>?" from those passages and its
  sentences keep the citations that ``assistant.citations`` resolves;

and every statement is then verified like an answer sentence: the support judge must find it in its cited
passages, or it is dropped. Statements are dated by the date they state ("As of 2024, ...") or else by their
article's publication date, and ordered newest first. When two dated statements of one cell have opposite polarity
(accepts / refuses, joins / suspends) the cell shows the change with both dates.

A cell's ``key`` is a hash of its candidates (article hashes and offsets) and of the build settings: on the next
build a cell whose key is unchanged is reused as it is.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from assistant.analyst import dates
from assistant.analyst.corpus import ArticleInfo, Source, Unit
from assistant.analyst.vocabulary import (
    FIRST_PERSON,
    ISSUES,
    MIN_PARTY_ARTICLES,
    MIN_PARTY_MENTIONS,
    NEGATIVE_CUES,
    NOT_HOLDER_BEFORE,
    PARTIES,
    POSITION_NOUNS,
    POSITIVE_CUES,
    STANCE_CUES,
    Issue,
    Party,
)
from assistant.answering.base import Answerer
from assistant.answering.extractive import ExtractiveAnswerer, ScoredSentence
from assistant.citations import parse_sentences, resolve_citations
from assistant.embedding import Embedder
from assistant.models import Chunk, Evidence
from assistant.store import ChunkStore
from assistant.support import SupportJudge, SupportVerdict
from assistant.text import is_prose_sentence, is_signpost, split_sentences, strip_footnotes

NO_STATEMENT = "no statement in the corpus"
CUE_WINDOW_WORDS = 10  # a position word at most this many words after the party's name makes it the holder
MAX_STATEMENTS = 3
EVIDENCE_PASSAGES = 8
# Candidates already name the party holding a position and the issue's words, so relevance is mostly settled and the
# bar is lower than the answerer's 0.40 for a free question; it still drops sentences whose issue word is incidental.
MIN_STATEMENT_SCORE = 0.25
# Choosing among candidates: a party's own publication and a dated source say more about its position than an
# undated overview that mentions it, so they rank a little higher than their relevance score alone.
OWN_VOICE_BONUS = 0.10
DATED_BONUS = 0.05
SAME_STATEMENT_COSINE = 0.88
MIN_CHANGE_DAYS = 28


@dataclass
class Candidate:
    """A sentence of an article in which ``party`` holds a position on ``issue``."""

    party: str
    issue: str
    source: Source
    polarity: int  # +1 accepts/proposes/supports, -1 refuses/suspends/rejects, 0 neither
    stated: str | None  # a date the sentence itself gives ("As of 2024")
    sha: str  # the article's content hash, part of the cell key
    own: bool = False  # the party speaks in its own publication (a Kremlin transcript for Russia)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Candidate:
        data = dict(data)
        data["source"] = Source.from_dict(data["source"])
        return Candidate(**data)


@dataclass
class Statement:
    """One statement of a party's position: the text shown, the sources it rests on, its date and verification."""

    text: str
    sources: list[Source]
    date: str | None  # partial ISO date, or None when neither the sentence nor its article is dated
    date_basis: str  # "stated" | "published" | "undated"
    polarity: int
    score: float
    support: float  # the support judge's score for the statement against its sources

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Statement:
        data = dict(data)
        data["sources"] = [Source.from_dict(s) for s in data["sources"]]
        return Statement(**data)


@dataclass
class StanceChange:
    """A position that changed: the older and the newer statement, with both dates."""

    before_date: str
    before: str
    after_date: str
    after: str
    summary: str


@dataclass
class StanceCell:
    party: str
    issue: str
    statements: list[Statement]
    changes: list[StanceChange] = field(default_factory=list)
    key: str = ""
    backend: str = "extractive"
    notices: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.statements

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> StanceCell:
        data = dict(data)
        data["statements"] = [Statement.from_dict(s) for s in data["statements"]]
        data["changes"] = [StanceChange(**c) for c in data.get("changes", [])]
        return StanceCell(**data)


@dataclass
class StanceBoard:
    """Parties × issues; ``cells`` keyed "party|issue"."""

    parties: list[str]
    issues: list[str]
    cells: dict[str, StanceCell]

    def cell(self, party: str, issue: str) -> StanceCell:
        return self.cells[cell_key(party, issue)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "parties": self.parties,
            "issues": self.issues,
            "cells": {k: c.to_dict() for k, c in self.cells.items()},
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> StanceBoard:
        return StanceBoard(
            list(data.get("parties", [])),
            list(data.get("issues", [])),
            {k: StanceCell.from_dict(c) for k, c in data.get("cells", {}).items()},
        )


def cell_key(party: str, issue: str) -> str:
    return f"{party}|{issue}"


# ---- candidates (per article) -----------------------------------------------------------------------------------


def _holds_position(text: str, match_start: int, match_end: int) -> bool:
    """Is the party named at ``text[match_start:match_end]`` the one taking a position? ("Russia's terms are",
    "Ukraine expressed its readiness", "The United States will immediately lift ..."; not "support to Ukraine",
    not "the Russia-Ukraine peace talks")."""
    if NOT_HOLDER_BEFORE.search(text[max(0, match_start - 16) : match_start]):
        return False
    after = text[match_end:]
    if re.match(r"[-–—]\w", after):
        return False
    if POSITION_NOUNS.match(after):
        return True
    words = list(re.finditer(r"\S+", after))[:CUE_WINDOW_WORDS]
    if not words:
        return False
    near = after[: words[-1].end()]
    near = re.split(r"[;:]|,\s+(?:but|while|whereas|and)\b", near)[0]
    return bool(STANCE_CUES.search(near))


def _after(text: str, end: int, words: int = 10) -> str:
    """The words right after a party's name: where its verb, and so the polarity of its position, is."""
    tail = list(re.finditer(r"\S+", text[end:]))[:words]
    return text[end : end + tail[-1].end()] if tail else ""


def polarity(text: str) -> int:
    """+1 when the words after the party accept/propose/support, -1 when they refuse/reject/suspend, else 0."""
    negative, positive = bool(NEGATIVE_CUES.search(text)), bool(POSITIVE_CUES.search(text))
    if negative and not positive:
        return -1
    if positive and not negative:
        return 1
    if negative and positive:
        first_neg = NEGATIVE_CUES.search(text)
        first_pos = POSITIVE_CUES.search(text)
        assert first_neg is not None and first_pos is not None
        return -1 if first_neg.start() < first_pos.start() else 1
    return 0


def voice_parties(publisher: str | None) -> list[Party]:
    """Parties an article speaks for (its publisher is that party's government), whose "we" is the party."""
    if not publisher:
        return []
    return [p for p in PARTIES if p.voice is not None and p.voice.search(publisher)]


def _stated_date(text: str) -> str | None:
    """A date the statement gives for itself: "As of 2024", "On 11 March 2025", "in 2022" (first one written)."""
    found = [m for m in dates.find_dates(text) if not m.year_inferred and m.basis == "text" and m.lead != "since"]
    as_of = [m for m in found if m.lead == "as of"]
    chosen = as_of[0] if as_of else (found[0] if found else None)
    return chosen.iso if chosen else None


_AS_OF = re.compile(r"^As of\b", re.IGNORECASE)


def extract_candidates(article: ArticleInfo, units: Sequence[Unit]) -> list[Candidate]:
    """Candidates for every cell from one article's sentences (see the module docstring)."""
    voices = voice_parties(article.publisher)
    # A primary document's title names its subject for clauses that do not name it again ("Initiative on the Safe
    # Transportation of Grain ...": "The Parties to this Initiative are ... the Russian Federation and Ukraine").
    title_issues = [issue for issue in ISSUES if issue.pattern.search(article.title)]
    out: list[Candidate] = []
    seen: set[tuple[str, str, int, int]] = set()
    as_of: tuple[int, str | None] | None = None  # (sentence index, date) of the last "As of <date>, ..." sentence
    for unit in units:
        text = unit.text
        inherited: str | None = None
        if not unit.joined:
            # "As of 2024, Ukraine's terms are ... Russia's terms are ...": the date carries over to the next sentence.
            if as_of is not None and unit.index == as_of[0] + 1:
                inherited = as_of[1]
            if _AS_OF.match(text):
                as_of = (unit.index, _stated_date(text))
        if not is_prose_sentence(text, 5) or is_signpost(text):  # "let's break down where they stand" holds none
            continue
        issues = [issue for issue in ISSUES if issue.pattern.search(text)] or title_issues
        if not issues:
            continue
        holders: dict[str, int] = {}
        for party in PARTIES:
            for m in party.named_in(text):
                if _holds_position(text, m.start(), m.end()):
                    holders[party.key] = polarity(_after(text, m.end()))
                    break
        for party in voices:
            if party.key in holders:
                continue
            for m in FIRST_PERSON.finditer(text):
                if _holds_position(text, m.start(), m.end()):
                    holders[party.key] = polarity(_after(text, m.end()))
                    break
        stated = _stated_date(text) or inherited
        for party_key, pol in holders.items():
            for issue in issues:
                key = (party_key, issue.key, unit.source.start, unit.source.end)
                if key in seen:
                    continue
                seen.add(key)
                own = any(v.key == party_key for v in voices)
                out.append(Candidate(party_key, issue.key, unit.source, pol, stated, article.sha, own))
    return out


def party_mentions(units: Sequence[Unit]) -> dict[str, int]:
    """How often each party is named in an article (single sentences only), to decide which extra parties get a row."""
    counts: dict[str, int] = {}
    for unit in units:
        if unit.joined:
            continue
        for party in PARTIES:
            n = len(party.named_in(unit.text))
            if n:
                counts[party.key] = counts.get(party.key, 0) + n
    return counts


def board_parties(counts_by_article: dict[str, dict[str, int]], with_statements: set[str]) -> list[str]:
    """The core parties, then the others the corpus names often (``MIN_PARTY_MENTIONS`` in ``MIN_PARTY_ARTICLES``)
    and holds a position somewhere (``with_statements``: parties with at least one candidate)."""
    totals: dict[str, int] = {}
    articles: dict[str, int] = {}
    for counts in counts_by_article.values():
        for key, n in counts.items():
            totals[key] = totals.get(key, 0) + n
            articles[key] = articles.get(key, 0) + 1
    extras = [
        p.key
        for p in PARTIES
        if not p.core
        and p.key in with_statements
        and totals.get(p.key, 0) >= MIN_PARTY_MENTIONS
        and articles.get(p.key, 0) >= MIN_PARTY_ARTICLES
    ]
    extras.sort(key=lambda k: -totals[k])
    return [p.key for p in PARTIES if p.core] + extras


# ---- cells ------------------------------------------------------------------------------------------------------


def candidates_key(candidates: Sequence[Candidate], config: str) -> str:
    """What a cell is computed from: its candidates (by article hash and offsets) and the build settings."""
    items = sorted((c.source.article_id, c.sha, c.source.start, c.source.end, c.stated or "") for c in candidates)
    return hashlib.sha256(json.dumps([config, items]).encode()).hexdigest()[:16]


_ANAPHORA = re.compile(r"^(It|Its|This|These|They|Their|He|She|His|Her|Such)\b")


def sentence_texts(chunk: Chunk) -> list[str]:
    """The sentence units the extractive answerer scores in a chunk (sentences, and anaphoric ones joined to the
    sentence before), to embed them ahead in one batch."""
    spans = split_sentences(chunk.text, offset=chunk.start)
    out = [span.text for span in spans]
    for prev, span in itertools.pairwise(spans):
        if _ANAPHORA.match(span.text):
            out.append(chunk.text[prev.start - chunk.start : span.end - chunk.start])
    return out


def question_for(party: Party, issue: Issue) -> str:
    return f"What is the position of {party.name} ({party.query}) on {issue.label.lower()} ({issue.query})?"


class CellBuilder:
    """Builds one cell from its candidates with retrieval + the answer machinery + verification (module docstring)."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        judge: SupportJudge,
        llm: Answerer | None = None,
        min_passage_score: float = 0.0,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.judge = judge
        self.llm = llm
        # The passages are already chosen (they name the party and the issue): no passage-level abstention.
        self.scorer = ExtractiveAnswerer(embedder, min_passage_score=min_passage_score, max_sentences=MAX_STATEMENTS)
        self._chunks: dict[str, Chunk] = {}
        self._vectors: dict[str, np.ndarray] = {}

    @property
    def backend(self) -> str:
        return self.llm.name if self.llm is not None else "extractive"

    def _load(self, ids: Sequence[str]) -> None:
        missing = [cid for cid in dict.fromkeys(ids) if cid not in self._chunks]
        if missing:
            for chunk in self.store.get_chunks(missing):
                self._chunks[chunk.chunk_id] = chunk
            self._vectors.update(self.store.get_vectors(missing))

    def prepare(self, jobs: Sequence[tuple[Party, Issue, Sequence[Candidate]]]) -> None:
        """Fetch every passage the cells to build will read, and embed their sentences and questions in one call
        (the embedder remembers them; one big batch is far cheaper than a small one per cell)."""
        self._load([c.source.chunk_id for _, _, cands in jobs for c in cands])
        texts = [question_for(p, i) for p, i, cands in jobs if cands]
        for cid in dict.fromkeys(c.source.chunk_id for _, _, cands in jobs for c in cands):
            if cid in self._chunks:
                texts.extend(sentence_texts(self._chunks[cid]))
        if texts:
            self.embedder.embed_texts(list(dict.fromkeys(texts)))

    def verify(self, text: str, passages: Sequence[str]) -> SupportVerdict:
        """A statement quoted verbatim from its passage is supported by construction; anything else (LLM text) goes
        to the support judge, as an answer's sentences do."""
        if any(text in strip_footnotes(p) or text in p for p in passages):
            return SupportVerdict(True, 1.0, "verbatim quote", "verbatim")
        return self.judge.judge(text, passages)

    def _evidence(self, question: str, candidates: Sequence[Candidate]) -> list[Evidence]:
        """The candidates' chunks ranked by cosine with the question: retrieval restricted to what can answer."""
        ids = list(dict.fromkeys(c.source.chunk_id for c in candidates))
        self._load(ids)
        query = self.embedder.embed_query(question)
        scored = [
            (cid, float(self._vectors[cid] @ query)) for cid in ids if cid in self._chunks and cid in self._vectors
        ]
        scored.sort(key=lambda pair: pair[1], reverse=True)
        return [
            Evidence(chunk=self._chunks[cid], score=score, rank=i + 1)
            for i, (cid, score) in enumerate(scored[:EVIDENCE_PASSAGES])
        ]

    def run(self, party: Party, issue: Issue, candidates: Sequence[Candidate], key: str) -> StanceCell:
        cell = StanceCell(party.key, issue.key, [], key=key, backend=self.backend)
        if not candidates:
            return cell
        question = question_for(party, issue)
        evidence = self._evidence(question, candidates)
        if not evidence:
            return cell
        statements: list[Statement] = []
        if self.llm is not None:
            try:
                statements = self._llm_statements(question, evidence, candidates)
            except Exception as error:  # an LLM failure must not lose the cell: fall back to quoting
                cell.notices.append(f"LLM backend failed ({type(error).__name__}); extractive statements instead.")
                cell.backend = "extractive"
        if self.llm is None or cell.backend == "extractive":
            statements = self._extractive_statements(question, evidence, candidates)
        cell.statements = _newest_first(statements)
        cell.changes = detect_changes(cell.statements)
        return cell

    def _extractive_statements(
        self, question: str, evidence: list[Evidence], candidates: Sequence[Candidate]
    ) -> list[Statement]:
        by_span = {(c.source.article_id, c.source.start, c.source.end): c for c in candidates}
        scored = [
            s
            for s in self.scorer.score_sentences(question, evidence)
            if (s.article_id, s.span.start, s.span.end) in by_span
        ]

        def rank(s: ScoredSentence) -> float:
            cand = by_span[(s.article_id, s.span.start, s.span.end)]
            dated = bool(cand.stated or cand.source.published)
            return s.score + OWN_VOICE_BONUS * cand.own + DATED_BONUS * dated

        scored.sort(key=rank, reverse=True)
        picked: list[tuple[ScoredSentence, list[Candidate]]] = []
        for s in scored:
            if s.score < MIN_STATEMENT_SCORE:
                continue
            cand = by_span[(s.article_id, s.span.start, s.span.end)]
            if any(_overlap(p.article_id, p.span.start, p.span.end, s) for p, _ in picked):
                continue  # the same sentence alone and joined to the one before: keep the better-scored one
            twin = next((group for p, group in picked if float(p.vector @ s.vector) >= SAME_STATEMENT_COSINE), None)
            if twin is not None:
                twin.append(cand)  # the same statement in another article: one statement, one more source
                continue
            if len(picked) < MAX_STATEMENTS:
                picked.append((s, [cand]))
        out = []
        for s, group in picked:
            head = group[0]
            passages = [self._chunks[c.source.chunk_id].text for c in group if c.source.chunk_id in self._chunks]
            verdict = self.verify(head.source.shown, passages)
            if not verdict.supported:
                continue
            date, basis = _date_of(head)
            out.append(
                Statement(
                    text=head.source.shown,
                    sources=_unique_sources([c.source for c in group]),
                    date=date,
                    date_basis=basis,
                    polarity=head.polarity,
                    score=round(s.score, 4),
                    support=round(verdict.score, 4),
                )
            )
        return out

    def _llm_statements(
        self, question: str, evidence: list[Evidence], candidates: Sequence[Candidate]
    ) -> list[Statement]:
        assert self.llm is not None
        draft = self.llm.run(question, evidence)
        resolved = resolve_citations(draft, evidence)
        if resolved.abstained:
            return []
        by_number = {c.number: c for c in resolved.citations}
        by_chunk = {c.source.chunk_id: c for c in candidates}
        out: list[Statement] = []
        for sentence in parse_sentences(resolved.text):
            cited = [by_number[n] for n in dict.fromkeys(sentence.cites) if n in by_number]
            if not cited or not sentence.text.strip():
                continue
            verdict = self.verify(sentence.text, [c.passage for c in cited])
            if not verdict.supported:
                continue
            sources = [
                Source(c.article_id, c.chunk_id, c.title, c.publisher, c.published, c.quote, c.quote_start, c.quote_end)
                for c in cited
            ]
            cand = next((by_chunk[c.chunk_id] for c in cited if c.chunk_id in by_chunk), None)
            stated = _stated_date(sentence.text)
            published = max((c.published for c in cited if c.published), default=None)
            out.append(
                Statement(
                    text=re.sub(
                        r"\s+([.,;:!?])", r"\1", strip_footnotes(sentence.text)
                    ).strip(),  # "same [1]." -> "same."
                    sources=sources,
                    date=stated or published,
                    date_basis="stated" if stated else ("published" if published else "undated"),
                    polarity=polarity(sentence.text) if cand is None else cand.polarity,
                    score=1.0,
                    support=round(verdict.score, 4),
                )
            )
            if len(out) == MAX_STATEMENTS:
                break
        return out


def _overlap(article_id: str, start: int, end: int, s: ScoredSentence) -> bool:
    return article_id == s.article_id and start < s.span.end and s.span.start < end


def _unique_sources(sources: Sequence[Source]) -> list[Source]:
    out: list[Source] = []
    for source in sources:
        if all((s.article_id, s.start) != (source.article_id, source.start) for s in out):
            out.append(source)
    return out


def _date_of(candidate: Candidate) -> tuple[str | None, str]:
    if candidate.stated:
        return candidate.stated, "stated"
    if candidate.source.published:
        return candidate.source.published, "published"
    return None, "undated"


def _newest_first(statements: list[Statement]) -> list[Statement]:
    """Dated statements newest first (by the last day their date can mean), then the undated ones by score."""

    def key(s: Statement) -> tuple[int, float]:
        span = dates.interval(s.date) if s.date else None
        return (-(span[1] if span else 0), -s.score)

    return sorted(statements, key=key)


_POLARITY_WORD = {1: "accepts / proposes", -1: "refuses / suspends / rejects"}


def detect_changes(statements: Sequence[Statement]) -> list[StanceChange]:
    """Opposite polarity between an older and a newer dated statement of one cell (at least a month apart)."""
    dated = [s for s in statements if s.date and s.polarity]
    changes: list[StanceChange] = []
    for newer in dated:
        for older in dated:
            assert newer.date is not None and older.date is not None
            n_span, o_span = dates.interval(newer.date), dates.interval(older.date)
            if n_span is None or o_span is None or n_span[0] - o_span[1] < MIN_CHANGE_DAYS:
                continue
            if newer.polarity != older.polarity:
                changes.append(
                    StanceChange(
                        before_date=older.date,
                        before=older.text,
                        after_date=newer.date,
                        after=newer.text,
                        summary=f"{_POLARITY_WORD[older.polarity]} ({older.date}) → "
                        f"{_POLARITY_WORD[newer.polarity]} ({newer.date})",
                    )
                )
    return changes
