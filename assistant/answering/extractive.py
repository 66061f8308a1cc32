"""The embedded default backend: answers with sentences quoted verbatim from the retrieved passages.

Nothing is generated, so nothing can be invented: each answer sentence is a sentence of the corpus with its exact
offsets. Sentences are scored by meaning (cosine with the question) and by the question's words they contain,
near-duplicates (overlapping chunks, two articles reporting one fact) are merged into one sentence with several
citations, and when no passage is close enough, or a name or number the question hinges on appears in none of the
passages, it abstains ("The corpus does not say ...") rather than answer beside the point.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np

from assistant.analyst.vocabulary import ordinals
from assistant.answering import composition
from assistant.answering.base import ABSTAIN_TEXT, Draft, DraftSentence
from assistant.answering.lexical import PARTIES, content_terms, key_terms
from assistant.embedding import Embedder
from assistant.injection import is_instruction
from assistant.models import UNDATED, Evidence, published_day
from assistant.text import Span, is_prose_sentence, is_signpost, split_sentences, strip_footnotes

MIN_SENTENCE_WORDS = 5
NEAR_DUPLICATE_COSINE = 0.88
RELATIVE_FLOOR = 0.8
SAME_FACT_COSINE = 0.65
SAME_FACT_OVERLAP = 0.5
_ANAPHORA = re.compile(r"^(It|Its|This|These|They|Their|He|She|His|Her|Such)\b")


# A status answer quotes, besides the newest dated source, others at most this much older: the state of the talks in
# March 2025 is still news in May 2025, a statement from a year before describes an earlier state. (On corpus_qa a
# second source a year older displaced a better quote about the grain deal and about Resolution 2774.)
CURRENT_WINDOW_DAYS = 92


def _days_between(newer: int, older: int) -> int:
    """Days from ``older`` to ``newer``, both YYYYMMDD integers (``published_day``); unreadable days are far apart."""
    try:
        return (
            date(newer // 10000, newer // 100 % 100, newer % 100)
            - date(older // 10000, older // 100 % 100, older % 100)
        ).days
    except ValueError:
        return 1 << 30


@dataclass
class ScoredSentence:
    span: Span
    rank: int  # evidence rank (1-based) it comes from
    article_id: str
    score: float
    vector: np.ndarray
    published: str | None = None
    bonus: float = 0.0  # the recency bonus included in ``score`` (questions about the newest state)


class ExtractiveAnswerer:
    """``run(question, evidence) -> Draft`` built from the passages' own sentences."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        min_passage_score: float = 0.40,
        min_sentence_score: float = 0.35,
        max_sentences: int = 3,
        vocabulary: Callable[[], set[str]] | None = None,
        status_recency_bonus: float = 0.0,
        newest_sources: int = 1,
    ) -> None:
        self.embedder = embedder
        self.vocabulary = vocabulary  # every content term of the corpus (from the store), for abstention
        self.min_passage_score = min_passage_score
        self.min_sentence_score = min_sentence_score
        self.max_sentences = max_sentences
        self.status_recency_bonus = status_recency_bonus
        self.newest_sources = newest_sources  # how many of the newest dated sources a status answer quotes

    def _candidates(self, evidence: list[Evidence]) -> list[tuple[Span, int]]:
        """Sentences of the passages, each once (overlapping chunks repeat sentences), skipping headings, fragments,
        signposts ("In this article, we will delve into ...": they claim nothing) and text addressed to an AI."""
        seen: set[tuple[str, int, int]] = set()
        out = []
        for ev in evidence:
            spans = split_sentences(ev.chunk.text, offset=ev.chunk.start)
            for i, span in enumerate(spans):
                units = [span]
                # "It proposed that ..." means nothing alone: also offer it joined with the sentence before.
                if i > 0 and _ANAPHORA.match(span.text):
                    prev = spans[i - 1]
                    joined = ev.chunk.text[prev.start - ev.chunk.start : span.end - ev.chunk.start]
                    units.append(Span(joined, prev.start, span.end))
                for unit in units:
                    key = (ev.chunk.article_id, unit.start, unit.end)
                    if (
                        key in seen
                        or not is_prose_sentence(unit.text, MIN_SENTENCE_WORDS)
                        or is_signpost(unit.text)
                        or is_instruction(unit.text)
                    ):
                        continue
                    seen.add(key)
                    out.append((unit, ev.rank))
        return out

    def score_sentences(self, question: str, evidence: list[Evidence]) -> list[ScoredSentence]:
        """Every candidate sentence with its relevance score, best first."""
        candidates = self._candidates(evidence)
        if not candidates:
            return []
        vectors = self.embedder.embed_texts([question] + [span.text for span, _ in candidates])
        q_vec, s_vecs = vectors[0], vectors[1:]
        q_terms = set(content_terms(question))
        s_terms_all = [set(content_terms(span.text)) for span, _ in candidates]
        # Words that every candidate shares ("talks", "Ukraine") say little; weight the question's words by IDF
        # over the candidates, so the sentence with "first meeting" beats the one with "talks ... 2022".
        idf = {t: math.log(1 + len(candidates) / (1 + sum(t in s for s in s_terms_all))) for t in q_terms}
        q_weight = sum(idf.values())
        passage_score = {ev.rank: ev.score for ev in evidence}
        article_of = {ev.rank: ev.chunk.article_id for ev in evidence}
        published_of = {ev.rank: ev.chunk.metadata.published for ev in evidence}
        recency = self._recency(question, evidence)
        scored = []
        for (span, rank), vec, s_terms in zip(candidates, s_vecs, s_terms_all, strict=True):
            dense = float(vec @ q_vec)
            overlap = sum(idf[t] for t in q_terms & s_terms) / q_weight if q_weight else 0.0
            bonus = recency.get(rank, 0.0)
            score = 0.55 * dense + 0.30 * overlap + 0.15 * passage_score[rank] + bonus
            scored.append(ScoredSentence(span, rank, article_of[rank], score, vec, published_of[rank], bonus))
        scored.sort(key=lambda s: s.score, reverse=True)
        return scored

    def _recency(self, question: str, evidence: list[Evidence]) -> dict[int, float]:
        """For a question about the newest state, a bonus per evidence rank: ``status_recency_bonus`` × where its
        article's date lies between the oldest and the newest dated passage (1 for the newest). Undated passages get
        none, and neither do dated ones when they all share one date: an undated article is not known to be older
        (the Wikipedia page on Resolution 2774 is undated and newer than the dated Bürgenstock communiqué), so being
        dated alone earns nothing. Other questions get no bonus."""
        if self.status_recency_bonus <= 0 or not composition.asks_for_newest(question):
            return {}
        days = {ev.rank: published_day(ev.chunk.metadata.published) for ev in evidence}
        dated = [day for day in days.values() if day != UNDATED]
        if not dated:
            return {}
        low, high = min(dated), max(dated)
        if high == low:
            return {}
        return {
            rank: self.status_recency_bonus * (day - low) / (high - low) for rank, day in days.items() if day != UNDATED
        }

    def _quote_newest(
        self,
        question: str,
        picked: list[tuple[ScoredSentence, DraftSentence]],
        scored: list[ScoredSentence],
        evidence: list[Evidence],
    ) -> None:
        """An answer about the newest state quotes the newest dated sources that speak to the question.

        Undated overviews ("the peace talks are of paramount importance") can outscore the statements that say
        where things stand. So each of the ``newest_sources`` newest dated articles among the passages (the newest,
        and others at most ``CURRENT_WINDOW_DAYS`` older than it) that mentions the names the question asks about
        (``composition.newest_must_mention``) and holds a sentence above the absolute floor (recency bonus left out)
        gets that sentence quoted, in place of the lowest-scored pick that is not one of them, unless a picked
        sentence already comes from that article or another of its date. The answer is then composed in source-date
        order and carries "as of" the newest date."""
        names = composition.newest_must_mention(question)
        day_of = {ev.rank: published_day(ev.chunk.metadata.published) for ev in evidence}
        article_of = {ev.rank: ev.chunk.article_id for ev in evidence}
        newest: list[tuple[Evidence, ScoredSentence]] = []  # (passage, its best sentence), one per article
        for ev in sorted((ev for ev in evidence if day_of[ev.rank] != UNDATED), key=lambda ev: -day_of[ev.rank]):
            if len(newest) >= self.newest_sources:
                break
            if newest and _days_between(day_of[newest[0][0].rank], day_of[ev.rank]) > CURRENT_WINDOW_DAYS:
                break  # a source this much older than the newest one tells an earlier state, not the current one
            if any(article_of[e.rank] == ev.chunk.article_id for e, _ in newest):
                continue
            if not composition.mentions(names, ev.chunk.metadata.title, ev.chunk.text):
                continue
            best = next(
                (c for c in scored if c.rank == ev.rank and c.score - c.bonus >= self.min_sentence_score),
                None,
            )
            if best is not None:
                newest.append((ev, best))
        kept = {ev.rank for ev, _ in newest}
        for ev, best in newest:
            covered = any(
                article_of[s.rank] == ev.chunk.article_id or day_of[s.rank] == day_of[ev.rank] for s, _ in picked
            )
            if covered or any(_overlaps(s, best) for s, _ in picked):
                continue
            if len(picked) >= self.max_sentences:
                others = [i for i, (s, _) in enumerate(picked) if s.rank not in kept]
                if not others:
                    return
                picked.pop(min(others, key=lambda i: picked[i][0].score))
            quote = DraftSentence(strip_footnotes(best.span.text), [best.rank], {best.rank: best.span})
            picked.append((best, quote))

    def _abstention_reason(self, question: str, evidence: list[Evidence]) -> str | None:
        """Why the passages cannot answer, judged on the names and numbers the question hinges on, or None.

        A name the whole corpus never mentions ("China's 12-point plan") means the corpus cannot answer. A name it
        mentions elsewhere is a retrieval miss, not proof of absence, so the passages must miss most names.
        """
        keys = key_terms(question)
        if not keys:
            return None
        if self.vocabulary is not None:
            unknown = keys - self.vocabulary()
            if unknown:
                return f"No article in it mentions: {', '.join(sorted(unknown))}."
        present: set[str] = set()
        for ev in evidence:
            meta = ev.chunk.metadata
            present.update(content_terms(f"{ev.chunk.text} {meta.title} {meta.publisher or ''}"))
        missing = keys - present
        if 2 * len(missing) > len(keys):
            return f"None of the closest passages mention: {', '.join(sorted(missing))}."
        return None

    def run(self, question: str, evidence: list[Evidence]) -> Draft:
        if not evidence or evidence[0].score < self.min_passage_score:
            return Draft(text=f"{ABSTAIN_TEXT} No passage in it is close enough to this question.", abstained=True)
        reason = self._abstention_reason(question, evidence)
        if reason:
            return Draft(text=f"{ABSTAIN_TEXT} {reason}", abstained=True)
        picked: list[tuple[ScoredSentence, DraftSentence]] = []
        disagreeing = False
        scored = self.score_sentences(question, evidence)
        # Keep the answer on point: besides the absolute floor, a sentence must score near the best one.
        # (A recency bonus may lift a newer sentence over the floor, but never raises the floor for the others.)
        best = max((s.score - s.bonus for s in scored), default=0.0)
        floor = max(self.min_sentence_score, RELATIVE_FLOOR * best) if scored else 1.0
        for cand in scored:
            if cand.score < floor:
                break
            overlapping = next((i for i, (s, _) in enumerate(picked) if _overlaps(s, cand)), None)
            if overlapping is not None:
                prior = picked[overlapping][0]
                if cand.span.start <= prior.span.start and cand.span.end >= prior.span.end:
                    # The same sentence with the one before it: keep the fuller unit in the same place.
                    picked[overlapping] = (
                        cand,
                        DraftSentence(strip_footnotes(cand.span.text), [cand.rank], {cand.rank: cand.span}),
                    )
                continue
            rival = next((s for s, _ in picked if _disagree(s, cand, question)), None)
            if rival is not None and not disagreeing and len(picked) <= self.max_sentences:
                # The same thing told differently: quote both (one pair per answer, one sentence over the cap).
                quote = DraftSentence(strip_footnotes(cand.span.text), [cand.rank], {cand.rank: cand.span})
                picked.append((cand, quote))
                disagreeing = True
                continue
            twin = next((d for s, d in picked if _same_fact(s, cand)), None)
            if twin is not None:  # the same fact again: one sentence, one more citation
                if cand.rank not in twin.cites:
                    twin.cites.append(cand.rank)
                    twin.quotes[cand.rank] = cand.span
                continue
            if len(picked) >= self.max_sentences:
                continue
            picked.append((cand, DraftSentence(strip_footnotes(cand.span.text), [cand.rank], {cand.rank: cand.span})))
        if picked and not disagreeing and self.status_recency_bonus > 0 and composition.asks_for_newest(question):
            self._quote_newest(question, picked, scored, evidence)
        parties = {t for t in content_terms(question) if t in PARTIES}
        if parties and picked:
            # "What did China propose?" answered from passages that never name China answers another question.
            def terms_of(cand: ScoredSentence) -> set[str]:
                ev = next(e for e in evidence if e.rank == cand.rank)
                return set(content_terms(f"{ev.chunk.text} {ev.chunk.metadata.title}"))

            chunk_terms: set[str] = set().union(*(terms_of(cand) for cand, _ in picked))
            absent = parties - chunk_terms
            # A question about two sides ("compare the Minsk Protocol with what the US proposed at Jeddah") can
            # fill every slot from one side: the best sentence above the floor from a passage naming the other is
            # added before giving up.
            for cand in scored:
                if not absent or cand.score < self.min_sentence_score:
                    break
                found = absent & terms_of(cand)
                if found and not any(_overlaps(s, cand) for s, _ in picked):
                    quote = DraftSentence(strip_footnotes(cand.span.text), [cand.rank], {cand.rank: cand.span})
                    picked.append((cand, quote))
                    absent -= found
            if absent:
                return Draft(
                    text=f"{ABSTAIN_TEXT} The passages that come closest never mention: {', '.join(sorted(absent))}.",
                    abstained=True,
                )
        counted = composition.counted_terms(question)
        if counted and picked and not any(composition.states_a_count(c.span.text, counted) for c, _ in picked):
            return Draft(
                text=f"{ABSTAIN_TEXT} The closest passages give no number of {', '.join(sorted(counted))}.",
                abstained=True,
            )
        if not picked:
            return Draft(
                text=f"{ABSTAIN_TEXT} The closest passages do not contain a sentence that answers this question.",
                abstained=True,
            )
        ordered = compose(question, picked)
        if disagreeing:
            # A fixed notice, not a claim (verification exempts it); the quotes after it carry the citations.
            ordered.insert(0, DraftSentence(composition.DISAGREEMENT_TEXT, []))
        return Draft.from_sentences(ordered)

    def stream(self, question: str, evidence: list[Evidence]) -> Iterator[str | Draft]:
        """Sentence by sentence, so the UI shows the answer growing like a generated one."""
        draft = self.run(question, evidence)
        # Exactly the draft's text, one cited sentence at a time.
        for piece in re.split(r"(?<=\])\s+(?=[^\[])", draft.text):
            yield piece + " "
        yield draft


def compose(question: str, picked: list[tuple[ScoredSentence, DraftSentence]]) -> list[DraftSentence]:
    """The picked sentences in the order the question asks for (``assistant.answering.composition``): for status
    questions in the order their sources said them, for timeline questions in the order things happened, grouped
    by party for stance questions, best first otherwise."""
    kind = composition.question_kind(question)
    indexed = list(enumerate(picked))
    if kind in ("status", "timeline"):
        # status: when each source said it (a quote not dated by its own words near its source's date is labelled);
        # timeline: when each thing happened (a quote that states no dated year is labelled)
        day, dated_by_its_words = (
            (composition.status_day, composition.states_date_near)
            if kind == "status"
            else (composition.sentence_day, composition.states_a_date)
        )
        indexed.sort(key=lambda item: (day(item[1][0].span.text, item[1][0].published), item[0]))
        for _, (scored, draft) in indexed:
            published = scored.published
            if published and len(published) >= 10 and not dated_by_its_words(draft.text, published):
                draft.text = composition.source_date_label(published) + draft.text
    elif kind == "stance":
        parties = composition.question_parties(question)
        indexed.sort(key=lambda item: (composition.first_party(item[1][0].span.text, parties), item[0]))
    return [draft for _, (_, draft) in indexed]


def _disagree(a: ScoredSentence, b: ScoredSentence, question: str) -> bool:
    return (
        composition.disagreement(
            a.span.text, b.span.text, float(a.vector @ b.vector), question, same_article=a.article_id == b.article_id
        )
        is not None
    )


def _overlaps(a: ScoredSentence, b: ScoredSentence) -> bool:
    return a.article_id == b.article_id and a.span.start < b.span.end and b.span.start < a.span.end


def _same_fact(a: ScoredSentence, b: ScoredSentence) -> bool:
    """Two sentences reporting one fact: nearly the same meaning, or close meaning with the same numbers and
    mostly the same words ("first meeting ... 28 February 2022, in Belarus" from two articles)."""
    numbers_a, numbers_b = set(re.findall(r"\d+", a.span.text)), set(re.findall(r"\d+", b.span.text))
    numbers_clash = bool(numbers_a and numbers_b) and not (numbers_a <= numbers_b or numbers_b <= numbers_a)
    ordinals_a, ordinals_b = ordinals(a.span.text), ordinals(b.span.text)
    if numbers_clash or (ordinals_a and ordinals_b and ordinals_a != ordinals_b):
        return False  # "first round ... 28 February" and "second round ... 3 March" read alike but are two facts
    cosine = float(a.vector @ b.vector)
    if cosine >= NEAR_DUPLICATE_COSINE:
        return True
    if cosine < SAME_FACT_COSINE or not numbers_a or not numbers_b:
        return False
    terms_a, terms_b = set(content_terms(a.span.text)), set(content_terms(b.span.text))
    return len(terms_a & terms_b) / max(1, min(len(terms_a), len(terms_b))) >= SAME_FACT_OVERLAP
