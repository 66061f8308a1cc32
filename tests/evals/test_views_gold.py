"""The analyst views' gold (every quote verbatim in its article) and the scoring of views against it."""

from __future__ import annotations

import pytest

from assistant.analyst.corpus import Source
from assistant.analyst.dates import interval
from assistant.analyst.stances import StanceBoard, StanceCell, StanceChange, Statement
from assistant.analyst.timeline import DateConflict, Timeline, TimelineEvent
from assistant.analyst.vocabulary import ISSUE_BY_KEY, PARTY_BY_KEY
from evals.metrics.views import (
    GoldCell,
    GoldEvent,
    GoldQuote,
    load_stances_gold,
    load_timeline_gold,
    overlaps,
    score_board,
    score_timeline,
    thresholds,
)
from ingest.loaders import discover_files, load_article
from tests.conftest import CORPUS_DIR


@pytest.fixture(scope="module")
def corpus_texts() -> dict[str, str]:
    sources, errors = discover_files([CORPUS_DIR])
    assert not errors
    return {a.article_id: a.text for a in (load_article(s) for s in sources)}


def test_stance_gold_is_verbatim_and_well_formed(corpus_texts: dict[str, str]) -> None:
    gold = load_stances_gold()
    assert len(gold) >= 12
    assert len({g.id for g in gold}) == len(gold) and len({(g.party, g.issue) for g in gold}) == len(gold)
    for cell in gold:
        assert cell.party in PARTY_BY_KEY and cell.issue in ISSUE_BY_KEY and cell.stance
        for q in cell.evidence:
            assert q.quote in corpus_texts[q.article], (cell.id, q.quote)
    assert any(c.change for c in gold)


def test_timeline_gold_is_verbatim_and_well_formed(corpus_texts: dict[str, str]) -> None:
    gold = load_timeline_gold()
    assert len(gold) >= 15
    assert len({g.id for g in gold}) == len(gold)
    for event in gold:
        assert interval(event.date) is not None and event.event
        for q in event.evidence:
            assert q.quote in corpus_texts[q.article], (event.id, q.quote)
        for iso in event.conflict_dates:
            assert interval(iso) is not None
    assert sum(len(g.articles) > 1 for g in gold) >= 5  # dedup is measured on several events
    assert any(g.conflict_dates for g in gold)
    assert set(thresholds()) >= {"cell_recall", "event_recall", "dedup_rate", "conflict_recall"}


def test_overlap_normalises_quotes_footnotes_and_case() -> None:
    assert overlaps("Russia’s decision to suspend[5] participation.", "russia's decision to suspend participation")
    assert overlaps("A fourth and fifth round of talks were held on 10 and 14 March.", "fourth and fifth round")
    assert not overlaps("The EU imposed sanctions.", "Ukraine accepted the ceasefire proposal.")


def _src(article: str, quote: str) -> Source:
    return Source(article, "c", "T", None, None, quote, 0, len(quote))


def _statement(article: str, quote: str, when: str) -> Statement:
    return Statement(quote, [_src(article, quote)], when, "published", 1, 0.5, 1.0)


def test_board_scoring() -> None:
    gold = [
        GoldCell(
            "g1", "russia", "black_sea", "suspends", [GoldQuote("a.md", "decision to suspend participation")], True
        ),
        GoldCell("g2", "ukraine", "ceasefire", "accepts", [GoldQuote("b.md", "readiness to accept a ceasefire")]),
        GoldCell("g3", "turkey", "sanctions", "none", [GoldQuote("c.md", "Turkey opposes sanctions")]),
    ]
    change = StanceChange("2022-07-22", "joins", "2023-07-17", "suspends", "x")
    board = StanceBoard(
        ["russia", "ukraine", "turkey"],
        ["black_sea", "ceasefire", "sanctions"],
        {
            "russia|black_sea": StanceCell(
                "russia",
                "black_sea",
                [_statement("a.md", "Russia's decision to suspend participation.", "2023")],
                [change],
            ),
            # The right words, but from another article: not a hit.
            "ukraine|ceasefire": StanceCell(
                "ukraine", "ceasefire", [_statement("x.md", "Ukraine's readiness to accept a ceasefire.", "2025")]
            ),
            "turkey|sanctions": StanceCell("turkey", "sanctions", []),
        },
    )
    metrics, rows = score_board(board, gold)
    assert metrics == {"cell_recall": pytest.approx(1 / 3), "change_recall": 1.0}
    assert [r["found"] for r in rows] == [True, False, False]


def _event(eid: str, iso: str, reports: list[tuple[str, str]], conflicts: list[str] | None = None) -> TimelineEvent:
    sources = [_src(a, w) for a, w in reports]
    return TimelineEvent(
        eid, iso, None, None, "talks", reports[0][1], sources, [eid],
        conflicts=[DateConflict("other", c, ["z.md"], "q", iso=c) for c in conflicts or []],
        reports=[[a, w] for a, w in reports],
    )  # fmt: skip


def test_timeline_scoring() -> None:
    gold = [
        GoldEvent("t1", "2022-02-28", "first meeting", [GoldQuote("a.md", "first meeting was held"),
                                                         GoldQuote("b.md", "first meeting was held on 28 February")]),
        GoldEvent("t2", "2022-05", "talks stop", [GoldQuote("a.md", "stopped in May 2022")], ["2022-03"]),
        GoldEvent("t3", "2025-03-11", "Jeddah", [GoldQuote("c.md", "Today in Jeddah")]),
    ]  # fmt: skip
    timeline = Timeline(
        [
            # Deduplicated: one event, both gold articles.
            _event(
                "e1",
                "2022-02-28",
                [
                    ("a.md", "The first meeting was held"),
                    ("b.md", "The first meeting was held on 28 February in Belarus"),
                ],
            ),
            _event("e2", "2022-05", [("a.md", "but stopped in May 2022")], conflicts=["2022-03"]),
            # The Jeddah report dated wrong, and a conflict flag on an event whose gold has none.
            _event("e3", "2025-03-12", [("c.md", "Today in Jeddah, Saudi Arabia")], conflicts=["2025-03-11"]),
        ]
    )
    metrics, rows = score_timeline(timeline, gold)
    assert metrics["event_recall"] == pytest.approx(2 / 3)
    assert metrics["event_date_precision"] == pytest.approx(2 / 3)
    assert metrics["dedup_rate"] == 1.0
    assert metrics["conflict_recall"] == 1.0 and metrics["conflict_precision"] == 1.0
    assert [r["found"] for r in rows] == [True, True, False]
    split = Timeline([_event("a", "2022-02-28", [("a.md", "The first meeting was held")]),
                      _event("b", "2022-02-28", [("b.md", "first meeting was held on 28 February")])])  # fmt: skip
    assert score_timeline(split, gold[:1])[0]["dedup_rate"] == 0.0  # two events for one meeting: not deduplicated
