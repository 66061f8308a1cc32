"""How the extractive answer is put together once its sentences are chosen: the order, and a disagreement notice.

The answer's sentences stay verbatim quotes (so verification can check them word for word); only their order and
one fixed notice depend on the kind of question:

* status and timeline questions ("latest", "so far", "when", "what happened") read in date order, each sentence
  dated by the date it states, else by its article's publication date, which is then written before it as
  "(source dated 11 March 2025)": metadata, checked by verification against the cited article's date;
* stance questions ("what is Russia's position on ...") keep each party's sentences together, parties in the order
  the question names them;
* when two quoted sources report the same thing with different specifics (Istanbul vs Antalya, 22 vs 27 July),
  the answer opens with ``DISAGREEMENT_TEXT`` and quotes both, each with its own citation, instead of merging
  them into one sentence with two citations as if they agreed.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from assistant.analyst import dates
from assistant.answering.lexical import PARTIES, content_terms, key_terms

QuestionKind = Literal["status", "timeline", "stance", "other"]

DISAGREEMENT_TEXT = "The sources disagree on this; each account is quoted with its source."

# Two sentences this close in meaning, from different articles, report the same thing (the Istanbul / Antalya
# rounds: 0.94; a sentence about the next round of the same talks: about 0.6).
SAME_TOPIC_COSINE = 0.75
# At most this many specifics only one side gives: more means they simply talk about different things.
MAX_DIFFERING_SPECIFICS = 2

# Words of a question about how things stand: the newest state ("latest", "where do the talks stand now") ...
_NEWEST_WORDS = (
    r"latest|current(?:ly)?|status|so far|now|today|state of|still|recent(?:ly)?|newest|most recent|up to date|"
    r"where (?:do|does) .* stand"
)
_NEWEST = re.compile(rf"\b({_NEWEST_WORDS})\b", re.I)
# ... or the state at a date ("what were Russia's terms as of 2024?"). One list for retrieval and the answer.
_STATUS = re.compile(rf"\b({_NEWEST_WORDS}|as of)\b", re.I)
_TIMELINE = re.compile(
    r"\b(when|timeline|chronolog\w*|sequence|history|what happened|since|until|before|after|first|then)\b", re.I
)
_STANCE = re.compile(
    r"\b(position\w*|stance\w*|views?|demand\w*|want\w*|insist\w*|oppos\w*|support\w*|reject\w*|accept\w*|"
    r"propos\w*|think|say about|said about|stand)\b",
    re.I,
)


def is_status_question(question: str) -> bool:
    """A question whose answer changes with time ("what is the latest on ...", "current status", "so far", "as of
    2024"): retrieval ranks newer dated passages up, the answer reads in date order and says "as of" its newest
    source."""
    return bool(_STATUS.search(question))


def asks_for_newest(question: str) -> bool:
    """Whether the answer should be the newest word on the matter: "what is the latest on ...", "where do the
    talks stand now". "What were Russia's terms as of 2024?" asks about 2024, not about the newest source."""
    return bool(_NEWEST.search(question))


def newest_must_mention(question: str) -> set[str]:
    """The names a newest source must mention to answer the question: its key terms without the numbers (the year
    in "In 2023 Ukraine said it was preparing a summit: what is the latest?" is when it started, not a condition)."""
    return {term for term in key_terms(question) if not any(ch.isdigit() for ch in term)}


def mentions(names: set[str], title: str, text: str) -> bool:
    """Whether a passage (its article's title and its text) mentions every one of ``names`` (normalised terms)."""
    return not names or names <= set(content_terms(f"{title}\n{text}"))


def question_kind(question: str) -> QuestionKind:
    """The composition a question asks for (status beats timeline beats stance: "latest position" is status)."""
    if is_status_question(question):
        return "status"
    if _TIMELINE.search(question):
        return "timeline"
    if _STANCE.search(question) and any(t in PARTIES for t in content_terms(question)):
        return "stance"
    return "other"


def sentence_day(text: str, published: str | None) -> int:
    """Chronological key of a quoted sentence: the earliest full-year date it states, else its article's date,
    else last (an undated sentence cannot be placed)."""
    stated = [m for m in dates.find_dates(text, published=published) if not m.iso.startswith("--")]
    stated = [m for m in stated if m.basis == "text"]
    if stated:
        return min(dates.sort_key(m.iso, m.qualifier) for m in stated)
    if published:
        return dates.sort_key(published[:10])
    return 10**9


def status_day(text: str, published: str | None) -> int:
    """Chronological key of a quoted sentence in a status answer: when its source said it (the article's date), so
    "we propose to resume the negotiations interrupted in 2022", said on 11 May 2025, reads as the latest word;
    an undated source falls back to the date the sentence states (``sentence_day``)."""
    if published and len(published) >= 10:
        return dates.sort_key(published[:10])
    return sentence_day(text, None)


def states_date_near(text: str, iso: str, days: int = 7) -> bool:
    """Whether a sentence states a full date within ``days`` of this one (YYYY-MM-DD): "Russia suspended the deal on
    17 July 2023" in an article of 18 July 2023 is dated by its own words; "the talks interrupted in 2022", said on
    11 May 2025, is not."""
    try:
        anchor = date.fromisoformat(iso[:10])
    except ValueError:
        return False
    for found in dates.find_dates(text, published=iso):
        if found.basis != "text" or len(found.iso) != 10:
            continue
        try:
            if abs((date.fromisoformat(found.iso) - anchor).days) <= days:
                return True
        except ValueError:
            continue
    return False


def first_party(text: str, parties: Sequence[str]) -> int:
    """Index in ``parties`` of the first of them the sentence names (len(parties) when none)."""
    terms = content_terms(text)
    positions = [terms.index(p) for p in parties if p in terms]
    if not positions:
        return len(parties)
    first = terms[min(positions)]
    return list(parties).index(first)


def question_parties(question: str) -> list[str]:
    """The parties a question names, in its order ("Russia ... Ukraine" -> ["russia", "ukraine"])."""
    seen: list[str] = []
    for term in content_terms(question):
        if term in PARTIES and term not in seen:
            seen.append(term)
    return seen


@dataclass(frozen=True)
class Disagreement:
    """Two sentences from different articles that report one thing with different specifics."""

    only_first: frozenset[str]
    only_second: frozenset[str]


def disagreement(first: str, second: str, cosine: float, question: str, *, same_article: bool) -> Disagreement | None:
    """Whether two quoted sentences disagree: nearly the same meaning (cosine), at least one specific (a name or
    number the question does not name) in common, and each giving one or two the other replaces ("… 10 and 14
    March in Istanbul" vs "… in Antalya")."""
    if same_article or cosine < SAME_TOPIC_COSINE:
        return None
    asked = key_terms(question)
    specifics_a = key_terms(first) - asked
    specifics_b = key_terms(second) - asked
    only_a, only_b = specifics_a - specifics_b, specifics_b - specifics_a
    if not only_a or not only_b or not specifics_a & specifics_b:
        return None
    if len(only_a) > MAX_DIFFERING_SPECIFICS or len(only_b) > MAX_DIFFERING_SPECIFICS:
        return None
    return Disagreement(frozenset(only_a), frozenset(only_b))


_HOW_MANY = re.compile(r"\bhow\s+many\s+((?:[\w'’-]+\s+){0,3}[\w'’-]+)", re.I)
_NUMBER_WORDS = (
    r"\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|"
    r"millions?|several|many|all|both"
)
_COUNT = re.compile(rf"\b({_NUMBER_WORDS})\b((?:\W+\w+){{1,4}})", re.I)


def counted_terms(question: str) -> set[str]:
    """What a "how many ..." question counts (the content words of the four words after it), else empty."""
    found = _HOW_MANY.search(question)
    return set(content_terms(found.group(1))) if found else set()


def states_a_count(sentence: str, counted: set[str]) -> bool:
    """Whether a sentence gives a number of one of the ``counted`` things ("ten votes", "57 states"): a count
    question answered by a sentence that only mentions the things is not answered."""
    return any(set(content_terms(m.group(2))) & counted for m in _COUNT.finditer(sentence))


_SOURCE_DATE = re.compile(r"^\(source dated (\d{1,2}) ([A-Z][a-z]+) (\d{4})\) ")
_MONTH_NUMBER = {name: i for i, name in enumerate(calendar.month_name) if name}


def source_date_label(published: str) -> str:
    """ "2025-03-11" -> "(source dated 11 March 2025) ", the prefix a dateless sentence gets in a dated answer."""
    year, month, day = (int(part) for part in published[:10].split("-"))
    return f"(source dated {day} {calendar.month_name[month]} {year}) "


def split_source_date(sentence: str) -> tuple[str | None, str]:
    """A sentence's source-date label as an ISO date, and the sentence without it ((None, sentence) when none)."""
    found = _SOURCE_DATE.match(sentence.lstrip())
    if not found or found.group(2) not in _MONTH_NUMBER:
        return None, sentence
    day, month, year = int(found.group(1)), _MONTH_NUMBER[found.group(2)], int(found.group(3))
    return f"{year:04d}-{month:02d}-{day:02d}", sentence.lstrip()[found.end() :]


def states_a_date(text: str, published: str | None) -> bool:
    """Whether a sentence gives a date with its year (a sentence that does needs no source-date label)."""
    return any(m.basis == "text" and not m.iso.startswith("--") for m in dates.find_dates(text, published=published))
