"""Date mentions as the corpus writes them: lists, ranges, year-less days, qualifiers, "today"."""

from __future__ import annotations

import pytest

from assistant.analyst.dates import compatible, find_dates, interval, label, last_year, sort_key


def isos(text: str, context_year: int | None = None, published: str | None = None) -> list[str]:
    return [m.iso for m in find_dates(text, context_year, published)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The first meeting was held on 28 February 2022 in Belarus.", ["2022-02-28"]),
        ("Talks took place on 3 March, and 7 March 2022, on the border.", ["2022-03-03", "2022-03-07"]),
        ("Talks took place on 3 and 7 March 2022 on the border.", ["2022-03-03", "2022-03-07"]),
        ("Meetings took place on 31 July, 26 August, 1 September, and 5 September 2014.",
         ["2014-07-31", "2014-08-26", "2014-09-01", "2014-09-05"]),
        ("consultations in Minsk on September 1, 2014, the group agreed", ["2014-09-01"]),
        ("The talks stopped in May 2022, due to several factors.", ["2022-05"]),
        ("Russia reaffirmed this assurance in 2009.", ["2009"]),
        ("Russia's 2022 invasion and the 1994 Budapest Memorandum", []),  # years as adjectives are not dates
    ],
)  # fmt: skip
def test_written_dates(text: str, expected: list[str]) -> None:
    assert isos(text) == expected


def test_range_qualifier_and_lead() -> None:
    summit = find_dates("We gathered in Switzerland on 15-16 June 2024 to talk.")
    assert [(m.iso, m.iso_end) for m in summit] == [("2024-06-15", "2024-06-16")]
    assert label(summit[0].iso, summit[0].iso_end) == "2024-06-15/16"
    late = find_dates("the negotiations that they interrupted at the end of 2022")
    assert [(m.iso, m.qualifier) for m in late] == [("2022", "late")]
    assert label("2022", None, "late") == "late 2022"
    as_of = find_dates("As of 2024, Ukraine's peace terms are that Russia withdraw its troops.")
    assert as_of[0].lead == "as of"
    since = find_dates("Since August 2022, the Initiative has shipped grain.")
    assert since[0].lead == "since"


def test_year_less_dates_take_the_publication_year_then_the_context() -> None:
    # A dated statement means its own year; an undated encyclopedia page the last year it named.
    assert isos("talks should resume on May 15 in Istanbul", context_year=2022, published="2025-05-11") == [
        "2025-05-15"
    ]
    assert isos("The first meeting was held on 28 February in Belarus.", context_year=2022) == ["2022-02-28"]
    mention = find_dates("held on 28 February in Belarus", context_year=2022)[0]
    assert mention.year_inferred
    assert isos("On March 11 in Jeddah, Ukraine accepted the proposal.") == ["--03-11"]
    assert isos("from May 7 to May 10, we hosted visits", published="2025-05-11") == ["2025-05-07"]
    assert find_dates("from May 7 to May 10, we hosted visits", published="2025-05-11")[0].iso_end == "2025-05-10"


def test_today_is_the_publication_date() -> None:
    assert isos("Today in Jeddah, Saudi Arabia, the delegations met.", published="2025-03-11") == ["2025-03-11"]
    assert isos("Today in Jeddah, Saudi Arabia, the delegations met.") == []  # undated article: no date


def test_compatibility_is_interval_overlap() -> None:
    assert compatible("2022-05", "2022-05-10")
    assert not compatible("2022-05", "2022-03")
    assert not compatible("2022-05", "2022", b_q="late")  # "the end of 2022" is not May
    assert compatible("2022-10", "2022", b_q="late")
    assert compatible("2024-06-16", "2024-06-15", b_end="2024-06-16")
    assert compatible("--03-11", "2025-03-11")
    assert not compatible("--03-11", "2025-03-12")
    assert not compatible("--03-11", "2025")  # a bare year says nothing about the day
    assert interval("2024-02") == (interval("2024-02-01")[0], interval("2024-02-29")[1])  # type: ignore[index]
    assert sort_key("2014") < sort_key("2014-02") < sort_key("2022", "late") < sort_key("--01-01")
    assert last_year("Russia's 2022 invasion; 32 million tons; Resolution 2774") == 2022
