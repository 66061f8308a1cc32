"""The timeline: dated events extracted from the corpus, one event per real-world happening, with every source.

Extraction (per article, so an unchanged article is never re-read): every prose sentence with a date (``dates``) and,
near that date, an event word (talks, signed, adopted, proposed, exchange, stopped ...; ``vocabulary.EVENT_KINDS``)
gives one *mention* per date: "held on 10 and 14 March" gives two. The words around the date, cut at the
neighbouring dates, are the mention's *window*; the event word nearest to the date gives its kind. A dated official
statement whose dateline repeats its publication date also dates its lead sentence ("The United States deeply
regrets Russia's decision to suspend ...", 17 July 2023).

Dedup (across articles and within one): mentions whose dates are compatible (the same day, or a month or year that
contains it) and whose sentences say the same thing (embedding cosine, or shared distinctive names such as "Jeddah,
Saudi Arabia") are one event with several citations. Two dates written in one sentence are never merged, and
reports that number different rounds ("second round" / "fourth round") are different events.

Conflicts: two events of the same kind whose windows say the same thing but whose dates cannot be the same day are
one happening dated differently by the sources ("stopped in May 2022" / "disrupted in March 2022"): both are kept and
each is flagged with the other's date and sources. Sources that agree on the date but differ on a name ("Istanbul" /
"Antalya") are flagged as differing details.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from assistant.analyst import dates
from assistant.analyst.corpus import ArticleInfo, Source
from assistant.analyst.vocabulary import EVENT_KINDS, ordinals
from assistant.answering.lexical import PARTIES, content_terms, key_terms
from assistant.text import is_prose_sentence, strip_footnotes

Embed = Callable[[list[str]], np.ndarray]

WINDOW_WORDS = 20
# Same event: how close in meaning (cosine of MiniLM sentence vectors) two reports must be, by how precise their
# dates are. Set on the bundled corpus: two reports of one day score 0.41-0.70 there (the first 2022 meeting, the
# Minsk consultations of 1 September 2014, Putin's two mentions of 15 May 2025); a shared distinctive name
# ("Crimea", "Jeddah") lowers the bar. A month or a year joining an event dated to the day needs a closer match.
SAME_DAY_COSINE = 0.40
SAME_PERIOD_COSINE = 0.55
COARSE_SAME_EVENT_COSINE = 0.62
NAME_BONUS = 0.10  # subtracted from the bar when the reports share a distinctive name
UNKNOWN_YEAR_COSINE = 0.45
# Conflicting dates: one happening (same kind, windows close in meaning) dated less than a year apart by the sources.
CONFLICT_COSINE = 0.60
CONFLICT_TALKS_COSINE = 0.75  # rounds of talks recur: reports of two rounds read alike, so demand more
CONFLICT_HALT_COSINE = 0.25  # "the talks stopped in May 2022" / "they were disrupted in March 2022"
CONFLICT_MAX_DAYS = 366
_TOPIC_TALKS = re.compile(r"\b(?:talks|negotiations?|dialogue|they)\b", re.IGNORECASE)
_PLACE_NOISE = {"round", "talks", "peace", "war"}


@dataclass
class EventMention:
    """One date of one sentence that an event word makes an event (see the module docstring)."""

    mention_id: str
    iso: str
    iso_end: str | None
    qualifier: str | None
    year_inferred: bool
    basis: str  # "text" | "today" | "dateline"
    date_text: str
    kind: str
    window: str
    source: Source
    ordinals: list[str]
    names: list[str]
    vector: list[float]
    window_vector: list[float]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["vector"] = _stored(self.vector)
        out["window_vector"] = _stored(self.window_vector)
        return out

    @staticmethod
    def from_dict(data: dict[str, Any]) -> EventMention:
        data = dict(data)
        data["source"] = Source.from_dict(data["source"])
        return EventMention(**data)

    @property
    def sentence_key(self) -> tuple[str, int]:
        return (self.source.article_id, self.source.start)


@dataclass
class DateConflict:
    """Another date the sources give for the same happening: that event's date, sources and wording."""

    event_id: str
    date: str  # as shown ("late 2022")
    articles: list[str]
    quote: str
    iso: str = ""  # the partial ISO date ("2022")


@dataclass
class TimelineEvent:
    """One happening: its date (the most precise the sources give), what happened, and every source reporting it."""

    event_id: str
    iso: str
    iso_end: str | None
    qualifier: str | None
    kind: str
    description: str
    sources: list[Source]
    mention_ids: list[str]
    year_inferred: bool = False
    conflicts: list[DateConflict] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    # What each source says happened on that date: [article id, the words around the date], one per mention.
    reports: list[list[str]] = field(default_factory=list)

    @property
    def date_label(self) -> str:
        return dates.label(self.iso, self.iso_end, self.qualifier)

    @property
    def articles(self) -> list[str]:
        return list(dict.fromkeys(s.article_id for s in self.sources))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> TimelineEvent:
        data = dict(data)
        data["sources"] = [Source.from_dict(s) for s in data["sources"]]
        data["conflicts"] = [DateConflict(**c) for c in data.get("conflicts", [])]
        return TimelineEvent(**data)


@dataclass
class Timeline:
    """All events, oldest first; ``unresolved`` counts mentions whose year no source could fill."""

    events: list[TimelineEvent]
    unresolved: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"events": [e.to_dict() for e in self.events], "unresolved": self.unresolved}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Timeline:
        return Timeline([TimelineEvent.from_dict(e) for e in data.get("events", [])], int(data.get("unresolved", 0)))

    def between(self, since: str | None = None, until: str | None = None) -> list[TimelineEvent]:
        """Events that can fall inside [since, until] (ISO dates, inclusive)."""
        out = []
        for event in self.events:
            span = dates.interval(event.iso, event.iso_end, event.qualifier)
            if span is None:
                continue
            if since and span[1] < dates.interval(since)[0]:  # type: ignore[index]
                continue
            if until and span[0] > dates.interval(until)[1]:  # type: ignore[index]
                continue
            out.append(event)
        return out


# ---- extraction -------------------------------------------------------------------------------------------------


def _kind_near(window: str, anchor_start: int, anchor_end: int) -> str | None:
    """The kind of the event word nearest to the date in its window (None: no event word, so no event).

    Verbs are looked for first; the nouns of a kind ("talks", "proposal") count only when no verb is there."""
    for strength in (1, 2):
        best: tuple[int, str] | None = None
        for kind, strong, weak in EVENT_KINDS:
            pattern = strong if strength == 1 else weak
            if pattern is None:
                continue
            for m in pattern.finditer(window):
                distance = anchor_start - m.end() if m.end() <= anchor_start else max(0, m.start() - anchor_end)
                if best is None or distance < best[0]:
                    best = (distance, kind)
        if best:
            return best[1]
    return None


_LIST_GAP = re.compile(r"[\s,]*(?:and|&|or)?[\s,]*")


def _groups(text: str, mentions: Sequence[dates.DateMention]) -> list[list[int]]:
    """Mentions written as one list ("31 July, 26 August, 1 September, and 5 September 2014"; "10 and 14 March")
    share their words: one group each."""
    groups: list[list[int]] = []
    for i, m in enumerate(mentions):
        if groups:
            prev = mentions[groups[-1][-1]]
            if prev.start == m.start or _LIST_GAP.fullmatch(text[prev.end : m.start]):
                groups[-1].append(i)
                continue
        groups.append([i])
    return groups


def _window(
    text: str, mentions: Sequence[dates.DateMention], group: list[int], groups: list[list[int]]
) -> tuple[str, int, int]:
    """The words around a group of dates, at most WINDOW_WORDS each side, never crossing another group's dates."""
    g = groups.index(group)
    first, last = mentions[group[0]], mentions[group[-1]]
    lo = mentions[groups[g - 1][-1]].end if g > 0 else 0
    hi = mentions[groups[g + 1][0]].start if g + 1 < len(groups) else len(text)
    left = list(re.finditer(r"\S+", text[lo : first.start]))[-WINDOW_WORDS:]
    right = list(re.finditer(r"\S+", text[last.end : hi]))[:WINDOW_WORDS]
    start = lo + left[0].start() if left else first.start
    end = last.end + right[-1].end() if right else last.end
    return text[start:end], first.start - start, last.end - start


def _names(text: str) -> list[str]:
    """Distinctive names of a sentence: capitalised names and numbers, minus the parties everyone names."""
    return sorted(t for t in key_terms(text) if t not in PARTIES and not t.isdigit() and t not in _PLACE_NOISE)


def _dateline(sentences: Sequence[Source], published: str | None) -> int | None:
    """Index of a non-prose line near the top that states the article's own date ("July 17, 2023"), or None."""
    if not published or dates.precision(published) != "day":
        return None
    for i, sentence in enumerate(sentences[:12]):
        text = strip_footnotes(sentence.quote)
        if is_prose_sentence(text, 5):
            continue
        if any(m.iso == published for m in dates.find_dates(text)):
            return i
    return None


# Dates that bound a period rather than date a happening: "since 2014", "as of 2024", "until May".
_NOT_EVENT_LEADS = {"since", "as of", "until", "till", "by"}


@dataclass(frozen=True)
class MentionDraft:
    """An event mention before embedding: the date, its kind, its window, the sentence (clean) and its source."""

    date: dates.DateMention
    kind: str
    window: str
    clean: str
    source: Source

    @property
    def texts(self) -> list[str]:
        """What gets embedded: the sentence (dedup) and the window (conflicts)."""
        return [self.clean, self.window]


def mention_drafts(article: ArticleInfo, sentences: Sequence[Source]) -> list[MentionDraft]:
    """The event mentions of one article (its sentences in order), not yet embedded."""
    drafts: list[MentionDraft] = []
    context_year: int | None = None
    dateline = _dateline(sentences, article.published)
    lead_done = dateline is None
    for i, sentence in enumerate(sentences):
        clean = strip_footnotes(sentence.quote).strip()
        found = dates.find_dates(clean, context_year, article.published)
        context_year = dates.last_year(clean) or context_year
        if not is_prose_sentence(clean, 5):
            continue
        kept = [m for m in found if m.lead not in _NOT_EVENT_LEADS]
        groups = _groups(clean, kept)
        for group in groups:
            if len(groups) == 1:  # one date (or one list of dates): the whole sentence is what happened then
                window, a, b = clean, kept[group[0]].start, kept[group[-1]].end
            else:
                window, a, b = _window(clean, kept, group, groups)
            kind = _kind_near(window, a, b)
            if kind:
                drafts.extend(MentionDraft(kept[j], kind, window, clean, sentence) for j in group)
        # The lead of a datelined statement happened on its date, unless the lead dates itself.
        if not lead_done and dateline is not None and i > dateline:
            kind = _kind_near(clean, len(clean), len(clean))
            if kind:
                lead_done = True
                if not found:
                    assert article.published is not None
                    dl = dates.DateMention(article.published, 0, 0, article.published, basis="dateline")
                    drafts.append(MentionDraft(dl, kind, clean, clean, sentence))
            elif i > dateline + 6:
                lead_done = True
    return drafts


def _stored(vector: Sequence[float]) -> list[float]:
    """A vector as state.json keeps it (5 decimals: a third of the file size, cosine error under 1e-4)."""
    return [round(float(v), 5) for v in vector]


def embed_mentions(drafts: Sequence[MentionDraft], embed: Embed) -> list[EventMention]:
    """Turn drafts into mentions with their sentence and window vectors (one embedding call)."""
    if not drafts:
        return []
    vectors = embed([t for d in drafts for t in d.texts])
    out = []
    for n, d in enumerate(drafts):
        mention = d.date
        mid = f"{d.source.article_id}@{d.source.start}-{d.source.end}:{mention.iso}:{mention.start}"
        out.append(
            EventMention(
                mention_id=mid,
                iso=mention.iso,
                iso_end=mention.iso_end,
                qualifier=mention.qualifier,
                year_inferred=mention.year_inferred,
                basis=mention.basis,
                date_text=mention.text,
                kind=d.kind,
                window=d.window,
                source=d.source,
                ordinals=sorted(ordinals(d.clean)),
                names=_names(d.clean),
                # Rounded as state.json stores them, so a mention read back clusters exactly like a fresh one (a
                # cosine on the edge of a threshold once merged the two Minsk Protocol copies only on re-ingest).
                vector=_stored(vectors[2 * n]),
                window_vector=_stored(vectors[2 * n + 1]),
            )
        )
    return out


def extract_mentions(article: ArticleInfo, sentences: Sequence[Source], embed: Embed) -> list[EventMention]:
    """Event mentions of one article (its sentences in order), embedded for dedup."""
    return embed_mentions(mention_drafts(article, sentences), embed)


# ---- dedup and conflicts ----------------------------------------------------------------------------------------

_PRECISION_RANK = {"day": 0, "month": 1, "year": 2}


def _rank(m: EventMention) -> tuple[int, int, int, int, int]:
    """Build order: full dates before year-less ones, precise before vague ("late 2022" before "2022"), written
    years before inferred ones."""
    unknown = m.iso.startswith("--")
    precise = (_PRECISION_RANK[dates.precision(m.iso)], int(m.qualifier is None))
    return (int(unknown), *precise, int(m.year_inferred), dates.sort_key(m.iso, m.qualifier))


def _cos(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.dot(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)))


def _ordinals_agree(a: Sequence[str], b: Sequence[str]) -> bool:
    return not a or not b or set(a) == set(b)


@dataclass
class _Cluster:
    members: list[EventMention]

    @property
    def head(self) -> EventMention:
        return self.members[0]


def _same_event(cluster: _Cluster, m: EventMention) -> float:
    """How strongly ``m`` reports the cluster's event (0 when it cannot)."""
    head = cluster.head
    if not dates.compatible(head.iso, m.iso, head.iso_end, m.iso_end, head.qualifier, m.qualifier):
        return 0.0
    if any(x.sentence_key == m.sentence_key for x in cluster.members):
        return 0.0  # two dates of one sentence are two events
    if not all(_ordinals_agree(x.ordinals, m.ordinals) for x in cluster.members):
        return 0.0
    if m.iso.startswith("--"):
        need = UNKNOWN_YEAR_COSINE
    elif dates.precision(m.iso) != dates.precision(head.iso):
        need = COARSE_SAME_EVENT_COSINE
    elif dates.precision(m.iso) == "day":
        need = SAME_DAY_COSINE
    else:
        need = SAME_PERIOD_COSINE
    best = 0.0
    for x in cluster.members:
        cosine = _cos(x.vector, m.vector)
        shared = len(set(x.names) & set(m.names))
        if cosine >= need - (NAME_BONUS if shared else 0.0):
            best = max(best, cosine + 0.05 * shared)
    return best


def _event_id(members: Sequence[EventMention]) -> str:
    head = members[0]
    key = f"{head.iso}|{head.source.article_id}|{head.source.start}|{head.date_text}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def _differences(members: Sequence[EventMention]) -> list[str]:
    """Names one source gives and another, reporting the same event, replaces ("Istanbul" vs "Antalya")."""
    by_article: dict[str, set[str]] = {}
    for m in members:
        by_article.setdefault(m.source.article_id, set()).update(m.names)
    if len(by_article) < 2:
        return []
    notes = []
    articles = list(by_article)
    for i, a in enumerate(articles):
        for b in articles[i + 1 :]:
            only_a, only_b = by_article[a] - by_article[b], by_article[b] - by_article[a]
            if only_a and only_b and len(only_a) <= 2 and len(only_b) <= 2:
                notes.append(f"{', '.join(sorted(only_a))} ({a}) vs {', '.join(sorted(only_b))} ({b})")
    return notes


def _describe(members: Sequence[EventMention]) -> EventMention:
    """The report that best describes the event: one giving the event's own date with a written year, from a dated
    source, then the shortest."""
    head = members[0]
    return min(
        members,
        key=lambda m: (
            (m.iso, m.qualifier) != (head.iso, head.qualifier),
            m.year_inferred,
            m.iso.startswith("--"),
            m.source.published is None,
            len(m.window),
        ),
    )


def _what(m: EventMention) -> str:
    """What happened, as the source words it: the sentence, or for a sentence with several dates the words
    around this one (marked with "…" where cut)."""
    sentence = m.source.shown
    if m.window == sentence or m.basis == "dateline":
        return sentence
    window = m.window.strip(" ,;")
    return ("" if sentence.startswith(window) else "…") + window + ("" if sentence.endswith(window) else "…")


def build_timeline(mentions: Sequence[EventMention]) -> Timeline:
    """Cluster mentions into events, date each, and flag conflicting dates (see the module docstring)."""
    clusters: list[_Cluster] = []
    unresolved = 0
    # Ties in rank are broken by where the mention is, never by the order articles were read: the same corpus must
    # give the same events (and event ids) whether it was ingested at once or article by article.
    for m in sorted(mentions, key=lambda m: (_rank(m), m.source.article_id, m.source.start, m.mention_id)):
        scored = [(c, _same_event(c, m)) for c in clusters]
        best = max(scored, key=lambda pair: pair[1], default=None)
        if best is not None and best[1] > 0:
            best[0].members.append(m)
        elif m.iso.startswith("--"):
            unresolved += 1  # a day without a year that no dated report matches: not placeable on a timeline
        else:
            clusters.append(_Cluster([m]))

    events: list[TimelineEvent] = []
    for cluster in clusters:
        members = cluster.members
        head = cluster.head
        described = _describe(members)
        sources: list[Source] = []
        for m in members:
            if m.source not in sources:
                sources.append(m.source)
        events.append(
            TimelineEvent(
                event_id=_event_id(members),
                iso=head.iso,
                iso_end=head.iso_end,
                qualifier=head.qualifier,
                kind=described.kind,
                description=_what(described),
                sources=sources,
                mention_ids=[m.mention_id for m in members],
                year_inferred=all(m.year_inferred for m in members),
                differences=_differences(members),
                reports=[[m.source.article_id, _what(m)] for m in members],
            )
        )
    _flag_conflicts(clusters, events)
    order = sorted(
        range(len(events)), key=lambda i: (dates.sort_key(events[i].iso, events[i].qualifier), events[i].description)
    )
    return Timeline([events[i] for i in order], unresolved)


def _conflicting(a: _Cluster, b: _Cluster) -> bool:
    """One happening dated differently: incompatible dates less than a year apart, no shared sentence, the same
    kind of event (never "military": invasions and offensives recur), windows that say the same thing."""
    ha, hb = a.head, b.head
    if dates.compatible(ha.iso, hb.iso, ha.iso_end, hb.iso_end, ha.qualifier, hb.qualifier):
        return False
    span_a, span_b = dates.interval(ha.iso, ha.iso_end, ha.qualifier), dates.interval(hb.iso, hb.iso_end, hb.qualifier)
    if span_a is None or span_b is None or max(span_a[0], span_b[0]) - min(span_a[1], span_b[1]) > CONFLICT_MAX_DAYS:
        return False
    if {m.sentence_key for m in a.members} & {m.sentence_key for m in b.members}:
        return False
    for x in a.members:
        for y in b.members:
            if x.kind != y.kind or x.kind == "military" or not _ordinals_agree(x.ordinals, y.ordinals):
                continue
            cosine = _cos(x.window_vector, y.window_vector)
            if x.kind == "talks":
                if cosine >= CONFLICT_TALKS_COSINE and set(x.names) & set(y.names):
                    return True
            elif x.kind == "halt" and _TOPIC_TALKS.search(x.window) and _TOPIC_TALKS.search(y.window):
                if cosine >= CONFLICT_HALT_COSINE:
                    return True
            elif cosine >= CONFLICT_COSINE:
                return True
    return False


def _flag_conflicts(clusters: Sequence[_Cluster], events: list[TimelineEvent]) -> None:
    for i, a in enumerate(clusters):
        for j in range(i + 1, len(clusters)):
            b = clusters[j]
            if not _conflicting(a, b):
                continue
            for mine, theirs, other in ((events[i], events[j], b), (events[j], events[i], a)):
                mine.conflicts.append(
                    DateConflict(
                        event_id=theirs.event_id,
                        date=theirs.date_label,
                        articles=theirs.articles,
                        quote=_what(_describe(other.members)),
                        iso=theirs.iso,
                    )
                )


def mention_terms(mention: EventMention) -> list[str]:
    """Content words of a mention's window (used by the evaluation and the "what's new" summary)."""
    return content_terms(mention.window)
