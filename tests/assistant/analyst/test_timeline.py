"""The timeline over real stores: dedup across articles, conflicting dates, and what must stay separate."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from assistant.analyst.corpus import article_chunks, article_sentences, list_articles
from assistant.analyst.timeline import (
    EventMention,
    Timeline,
    TimelineEvent,
    build_timeline,
    embed_mentions,
    mention_drafts,
)
from tests.assistant.analyst.conftest import Views, article


def events_on(timeline: Timeline, iso: str) -> list[TimelineEvent]:
    return [e for e in timeline.events if e.iso == iso]


def test_same_meeting_from_two_articles_is_one_event_with_two_citations(crafted: Views) -> None:
    timeline = crafted.state().timeline
    meeting = events_on(timeline, "2023-06-05")
    assert len(meeting) == 1
    event = meeting[0]
    assert set(event.articles) == {"corpus/a_wire.md", "corpus/b_daily.md"}
    assert len(event.sources) == 2 and not event.conflicts
    # Each citation is the verbatim sentence of its article, with offsets that point at it.
    for source in event.sources:
        text = crafted.store.get_chunks([source.chunk_id])[0]
        assert source.quote in text.text
        assert "5 June 2023" in source.quote
    assert event.kind == "talks"


def test_conflicting_dates_are_flagged_on_both_events(crafted: Views) -> None:
    timeline = crafted.state().timeline
    (early,) = events_on(timeline, "2022-07-22")
    (late,) = events_on(timeline, "2022-07-27")
    assert early.articles == ["corpus/a_wire.md"] and late.articles == ["corpus/b_daily.md"]
    assert [(c.iso, c.articles) for c in early.conflicts] == [("2022-07-27", ["corpus/b_daily.md"])]
    assert [(c.iso, c.articles) for c in late.conflicts] == [("2022-07-22", ["corpus/a_wire.md"])]
    assert "27 July 2022" in early.conflicts[0].quote
    # The meeting of 5 June agrees across sources: no conflict there.
    assert not events_on(timeline, "2023-06-05")[0].conflicts


def test_different_rounds_and_two_dates_of_one_sentence_stay_separate(fresh_views: Callable[..., Views]) -> None:
    rounds = article(
        "Rounds of talks",
        "Encyclopedia",
        None,
        "The second round of talks was held on 3 March 2022 on the Belarus–Ukraine border.\n\n"
        "The third round of talks was held on 7 March 2022 on the Belarus–Ukraine border.\n\n"
        "A fourth and fifth round of talks were held on 10 and 14 March in Antalya, Turkey.\n",
    )
    other = article(
        "Talks in Turkey",
        "Gazette",
        None,
        "A fourth and fifth round of talks were respectively held on 10 and 14 March 2022 in Istanbul, Turkey.\n",
    )
    views = fresh_views({"rounds.md": rounds, "other.md": other})
    timeline = views.refresh().timeline
    assert [e.iso for e in timeline.events] == ["2022-03-03", "2022-03-07", "2022-03-10", "2022-03-14"]
    # Rounds that look alike but are numbered differently are not one event, nor a conflict.
    assert all(not e.conflicts for e in timeline.events)
    # "10 and 14 March" is two events, each reported by both articles (the year of the first from its context),
    # and the sources disagree on the place.
    for iso in ("2022-03-10", "2022-03-14"):
        (event,) = events_on(timeline, iso)
        assert set(event.articles) == {"corpus/rounds.md", "corpus/other.md"}
        assert any("antalya" in d and "istanbul" in d for d in event.differences)


def test_year_less_report_joins_the_dated_event_and_undated_leftovers_are_counted(
    fresh_views: Callable[..., Views],
) -> None:
    statement = article(
        "Joint statement",
        "Department of State",
        "2025-03-11",
        "Today in Jeddah, Saudi Arabia, the United States and Ukraine took important steps toward peace.\n",
    )
    editorial = article(
        "Editorial",
        "Editorial board",
        None,
        "On March 11 in Jeddah, Saudi Arabia, Ukraine accepted a U.S. proposal for a ceasefire.\n\n"
        "On April 2 the parties met again somewhere else to discuss the weather.\n",
    )
    timeline = fresh_views({"statement.md": statement, "editorial.md": editorial}).refresh().timeline
    (jeddah,) = events_on(timeline, "2025-03-11")
    assert set(jeddah.articles) == {"corpus/statement.md", "corpus/editorial.md"}
    assert timeline.unresolved == 1  # "April 2" with no year and nothing to match it: not placed
    assert all(not e.iso.startswith("--") for e in timeline.events)


def test_timeline_window_and_serialisation(crafted: Views) -> None:
    timeline = crafted.state().timeline
    assert [e.iso for e in timeline.between("2023")] == ["2023-06-05"]
    assert [e.iso for e in timeline.between(until="2022-07-25")] == ["2022-07-22"]
    assert Timeline.from_dict(timeline.to_dict()) == timeline


def test_the_timeline_does_not_depend_on_the_order_articles_were_read(crafted: Views) -> None:
    """Re-ingesting an unchanged corpus reported a Minsk event as "changed" and "removed": equal-rank mentions
    were clustered in the order the articles happened to be listed."""
    mentions = [m for extract in crafted.state().articles.values() for m in extract.mentions]
    assert len({m.source.article_id for m in mentions}) >= 2

    def shape(timeline: Timeline) -> list[tuple[str, list[str]]]:
        return [(e.event_id, e.mention_ids) for e in timeline.events]

    forward = build_timeline(mentions)
    assert shape(build_timeline(list(reversed(mentions)))) == shape(forward)
    assert shape(build_timeline(sorted(mentions, key=lambda m: m.mention_id))) == shape(forward)


def test_a_fresh_mention_equals_itself_read_back_from_the_stored_state(crafted: Views) -> None:
    """state.json keeps vectors to 5 decimals; a fresh mention must carry the same numbers, or an unchanged
    corpus clusters differently once its mentions are read back (the Minsk Protocol copies did)."""
    info = list_articles(crafted.store)[0]
    drafts = mention_drafts(info, article_sentences(article_chunks(crafted.store, info.article_id)))
    assert drafts
    rng = np.random.default_rng(7)
    fresh = embed_mentions(drafts, lambda texts: rng.normal(size=(len(texts), 384)).astype(np.float32))
    for mention in fresh:
        assert EventMention.from_dict(json.loads(json.dumps(mention.to_dict()))) == mention
