"""Dates as the articles write them: "28 February 2022", "10 and 14 March", "May 11, 2025", "in March 2022",
"at the end of 2022", "15-16 June 2024", "today".

The timeline needs each mention's date *and how precise it is*: a source saying "in May 2022" does not contradict one
saying "on 10 May 2022", but it does contradict "in March 2022". So a date here is an interval of days (``lo``..``hi``)
with a precision, and two dates are compatible when their intervals overlap. Dates are kept as partial ISO strings
("2022-03-10", "2022-03", "2022", and "--03-11" when the year is unknown) so the stored views stay plain JSON.

Years left out ("held on 28 February in Belarus") are filled from the sentence ("3 March and 7 March 2022"); then,
in a dated article (news, statements), from its publication date ("talks should resume on May 15" in a statement of
11 May 2025), and in an undated one (encyclopedia snapshots) from the last year it named before the sentence. A
mention whose year stays unknown is kept as "--MM-DD" and can still join an event another source dates in full.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

MONTH_NUMBERS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name} | {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Mar\.|Apr\.|Jun\.|Jul\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\.)"
)
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_SEP = r"\s*(?:,\s*and|,|and|&|to|-|–|—)\s*"

# "10 and 14 March", "15-16 June 2024", "28 February 2022"
_DMY = re.compile(rf"\b(?P<days>{_DAY}(?:{_SEP}{_DAY})*)\s+(?P<month>{_MONTH})(?:,?\s+(?P<year>{_YEAR}))?(?!\w)")
# "May 11, 2025", "March 11", "September 1, 2014"
_MDY = re.compile(rf"\b(?P<month>{_MONTH})\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>{_YEAR})\b)?")
# "in March 2022", "August 2014"
_MY = re.compile(rf"\b(?P<month>{_MONTH})\s+(?P<year>{_YEAR})\b")
# "at the end of 2022", "early 2023", "mid-2024"
_QY = re.compile(
    rf"\b(?P<q>early|mid-?|late|the end of|the start of|the beginning of|the middle of|the first half of|"
    rf"the second half of)\s*(?P<year>{_YEAR})\b",
    re.IGNORECASE,
)
# "in 2014", "since 2022", "as of 2024"
_PY = re.compile(rf"\b(?:in|since|during|until|by|as of|As of|In|Since|During|Until|By)\s+(?P<year>{_YEAR})\b")
_TODAY = re.compile(r"\b[Tt]oday\b")
_ANY_YEAR = re.compile(rf"(?<![\d,./-]){_YEAR}(?![\d,]\d)")
_QUALIFIERS = {
    "early": "early", "the start of": "early", "the beginning of": "early", "the first half of": "early",
    "mid": "mid", "mid-": "mid", "the middle of": "mid",
    "late": "late", "the end of": "late", "the second half of": "late",
}  # fmt: skip
_QUALIFIER_MONTHS = {"early": (1, 4), "mid": (5, 8), "late": (9, 12)}


@dataclass(frozen=True)
class DateMention:
    """One date written in a text: what it says (``iso``, ``iso_end`` for a range) and where (offsets in the text).

    ``iso`` is a partial ISO date: "YYYY-MM-DD", "YYYY-MM", "YYYY" or "--MM-DD" (year unknown). ``qualifier``
    narrows a bare year ("late" for "at the end of 2022"). ``year_inferred`` says the year was not written next
    to the date but filled from context; ``basis`` is "text", or "today"/"dateline" when it is the article's date.
    """

    text: str
    start: int
    end: int
    iso: str
    iso_end: str | None = None
    qualifier: str | None = None
    year_inferred: bool = False
    basis: str = "text"
    lead: str = ""  # the preposition before it, lower case ("since", "as of", "in", "on" ...)

    @property
    def precision(self) -> str:
        return precision(self.iso)


def precision(iso: str) -> str:
    """ "day", "month" or "year" for a partial ISO date."""
    if iso.startswith("--"):
        return "day" if len(iso) == 7 else "month"
    return {10: "day", 7: "month"}.get(len(iso), "year")


def year_of(iso: str | None) -> int | None:
    if not iso or iso.startswith("--"):
        return None
    return int(iso[:4])


def interval(iso: str, iso_end: str | None = None, qualifier: str | None = None) -> tuple[int, int] | None:
    """The days a partial date can mean, as proleptic ordinals (None for an unknown year)."""
    if iso.startswith("--"):
        return None
    y = int(iso[:4])
    if len(iso) >= 10:
        lo = date(y, int(iso[5:7]), int(iso[8:10])).toordinal()
    elif len(iso) == 7:
        lo = date(y, int(iso[5:7]), 1).toordinal()
    else:
        first, _ = _QUALIFIER_MONTHS.get(qualifier or "", (1, 12))
        lo = date(y, first, 1).toordinal()
    end = iso_end or iso
    y2 = int(end[:4])
    if len(end) >= 10:
        hi = date(y2, int(end[5:7]), int(end[8:10])).toordinal()
    elif len(end) == 7:
        m = int(end[5:7])
        hi = date(y2, m, calendar.monthrange(y2, m)[1]).toordinal()
    else:
        _, last = _QUALIFIER_MONTHS.get(qualifier or "", (1, 12))
        hi = date(y2, last, calendar.monthrange(y2, last)[1]).toordinal()
    return lo, max(lo, hi)


def compatible(
    a: str, b: str, a_end: str | None = None, b_end: str | None = None, a_q: str | None = None, b_q: str | None = None
) -> bool:
    """Can two dates mean the same day? (Their intervals overlap; a year-less "--03-11" matches the same month-day.)"""
    if a.startswith("--") or b.startswith("--"):
        known, partial = (b, a) if a.startswith("--") else (a, b)
        md_known = known[2:] if known.startswith("--") else known[5:]  # "03-11", "03" or "" for a bare year
        md_partial = partial[2:]
        if not md_known:
            return False  # a bare year says nothing about the month and day
        return md_known.startswith(md_partial) or md_partial.startswith(md_known)
    ia, ib = interval(a, a_end, a_q), interval(b, b_end, b_q)
    assert ia is not None and ib is not None
    return ia[0] <= ib[1] and ib[0] <= ia[1]


def sort_key(iso: str, qualifier: str | None = None) -> int:
    """Chronological order (first possible day); an unknown year sorts last."""
    span = interval(iso, None, qualifier)
    return span[0] if span else 10**9


def label(iso: str, iso_end: str | None = None, qualifier: str | None = None) -> str:
    """How a date reads in tables: "2022-03-10", "2024-06-15/16", "2022-03", "late 2022", "11 March (year unknown)"."""
    if iso.startswith("--"):
        month = calendar.month_name[int(iso[2:4])]
        return f"{int(iso[5:7])} {month} (year unknown)" if len(iso) == 7 else f"{month} (year unknown)"
    text = f"{qualifier} {iso}" if qualifier else iso
    if iso_end and iso_end != iso:
        shared = 8 if iso_end[:8] == iso[:8] and len(iso) == 10 else 0
        text += "/" + iso_end[shared:]
    return text


def _iso(year: int | None, month: int, day: int | None) -> str | None:
    if day is not None:
        try:
            date(year or 2000, month, day)  # 2000 is a leap year: "29 February" with an unknown year is valid
        except ValueError:
            return None
        return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"
    return f"{year:04d}-{month:02d}" if year else None


def _month(word: str) -> int:
    return MONTH_NUMBERS[word.lower().rstrip(".")]


@dataclass
class _Raw:
    start: int
    end: int
    month: int | None
    days: list[int]
    year: int | None
    is_range: bool = False
    qualifier: str | None = None
    basis: str = "text"
    end_month: int | None = None


def _raw_mentions(text: str) -> list[_Raw]:
    taken: list[tuple[int, int]] = []
    found: list[_Raw] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for m in _DMY.finditer(text):
        days_text = m.group("days")
        days = [int(d) for d in re.findall(r"\d+", days_text)]
        if any(d < 1 or d > 31 for d in days):
            continue
        is_range = bool(re.search(r"-|–|—|\bto\b", days_text)) and len(days) == 2
        found.append(_Raw(m.start(), m.end(), _month(m.group("month")), days, _int(m.group("year")), is_range))
        taken.append((m.start(), m.end()))
    for m in _MDY.finditer(text):
        day = int(m.group("day"))
        if not 1 <= day <= 31 or not free(m.start(), m.end()):
            continue
        found.append(_Raw(m.start(), m.end(), _month(m.group("month")), [day], _int(m.group("year"))))
        taken.append((m.start(), m.end()))
    for m in _MY.finditer(text):
        if free(m.start(), m.end()):
            found.append(_Raw(m.start(), m.end(), _month(m.group("month")), [], int(m.group("year"))))
            taken.append((m.start(), m.end()))
    for m in _QY.finditer(text):
        if free(m.start(), m.end()):
            q = _QUALIFIERS[m.group("q").lower()]
            found.append(_Raw(m.start(), m.end(), None, [], int(m.group("year")), qualifier=q))
            taken.append((m.start(), m.end()))
    for m in _PY.finditer(text):
        s = m.start("year")
        if free(s, m.end()):
            found.append(_Raw(m.start(), m.end(), None, [], int(m.group("year"))))
            taken.append((s, m.end()))
    for m in _TODAY.finditer(text):
        if free(m.start(), m.end()):
            found.append(_Raw(m.start(), m.end(), None, [], None, basis="today"))
    found.sort(key=lambda r: r.start)
    return found


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def find_dates(text: str, context_year: int | None = None, published: str | None = None) -> list[DateMention]:
    """Every date mention of ``text`` (one sentence), years filled as the module docstring says.

    ``context_year`` is the last year the article named before this sentence; ``published`` its ISO date, which
    also resolves "today".
    """
    raws = _raw_mentions(text)
    # "3 March, and 7 March 2022": a year-less date takes the year of the next one in the same list.
    for i in range(len(raws) - 2, -1, -1):
        here, after = raws[i], raws[i + 1]
        if here.year is None and here.basis == "text" and after.year is not None:
            gap = text[here.end : after.start]
            if re.fullmatch(r"[\s,]*(?:and|&|or|to|until|-|–|—)?[\s,]*", gap):
                here.year = after.year
    # "from May 7 to May 10": one range.
    merged: list[_Raw] = []
    for raw in raws:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and len(prev.days) == 1
            and len(raw.days) == 1
            and re.fullmatch(r"\s*(?:to|until|-|–|—)\s*", text[prev.end : raw.start])
            and re.search(r"\b(?:from|between)\s*$", text[: prev.start])
        ):
            prev.end, prev.is_range = raw.end, True
            prev.days = [prev.days[0], raw.days[0]]
            prev.year = prev.year or raw.year
            prev.month = prev.month or raw.month
            prev.end_month = raw.month
            continue
        merged.append(raw)

    published_year = year_of(published)
    out: list[DateMention] = []
    for raw in merged:
        written = text[raw.start : raw.end]
        lead = _lead(text, raw.start, written)
        if raw.basis == "today":
            if published and precision(published) == "day":
                out.append(DateMention(written, raw.start, raw.end, published, basis="today", lead=lead))
            continue
        year, inferred = raw.year, False
        if year is None and raw.month is not None:
            year, inferred = published_year or context_year, True
        if raw.month is None:
            if year:
                out.append(DateMention(written, raw.start, raw.end, f"{year:04d}", None, raw.qualifier, lead=lead))
            continue
        if not raw.days:
            iso = _iso(year, raw.month, None)
            if iso:
                out.append(DateMention(written, raw.start, raw.end, iso, year_inferred=inferred, lead=lead))
            continue
        if raw.is_range:
            end_month = raw.end_month or raw.month
            lo, hi = _iso(year, raw.month, raw.days[0]), _iso(year, end_month, raw.days[1])
            if lo and hi and (lo.startswith("--") or hi >= lo):
                out.append(DateMention(written, raw.start, raw.end, lo, hi, year_inferred=inferred, lead=lead))
            continue
        for day in raw.days:
            iso = _iso(year, raw.month, day)
            if iso:
                out.append(DateMention(written, raw.start, raw.end, iso, year_inferred=inferred, lead=lead))
    return out


_LEAD_BEFORE = re.compile(r"\b(as of|since|until|till|by|in|on|at|during|from|of)\s+(?:the\s+)?$", re.IGNORECASE)
_LEAD_INSIDE = re.compile(r"(as of|since|until|by|in|during)\b", re.IGNORECASE)


def _lead(text: str, start: int, written: str) -> str:
    inside = _LEAD_INSIDE.match(written)
    if inside:
        return inside.group(1).lower()
    before = _LEAD_BEFORE.search(text[max(0, start - 20) : start])
    return before.group(1).lower() if before else ""


def last_year(text: str) -> int | None:
    """The last year (19xx/20xx) written in a text, for filling year-less dates that follow it."""
    years = _ANY_YEAR.findall(text)
    return int(years[-1]) if years else None
