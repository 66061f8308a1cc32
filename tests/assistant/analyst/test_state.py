"""Freshness: views stored with the corpus state, rebuilt only for what changed, with a "what's new" summary; the
ingest hook refreshes them and a views failure never fails an ingest."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import assistant.analyst.state as state_module
from assistant.analyst.stances import cell_key
from assistant.analyst.state import ViewsBuilder, is_stale, load_views, whats_new
from tests.assistant.analyst.conftest import MINISTRY, SANCTIONS_LINE, Views


def cells_citing(state: state_module.ViewsState, article_id: str) -> set[str]:
    """Cells with a candidate statement from this article."""
    return {
        cell_key(c.party, c.issue)
        for a in state.articles.values()
        for c in a.candidates
        if c.source.article_id == article_id and c.party in state.board.parties
    }


def test_changing_one_article_recomputes_only_its_events_and_cells(fresh_views: Callable[..., Views]) -> None:
    views = fresh_views()
    first = views.refresh()
    assert first.stats.full_rebuild and first.whats_new.first_build
    assert len(first.stats.articles_extracted) == 3 and not first.stats.cells_reused

    # Nothing changed: everything is reused, nothing is embedded, and the summary says so.
    again = views.refresh()
    assert again.stats.articles_extracted == [] and len(again.stats.articles_reused) == 3
    assert again.stats.cells_recomputed == [] and again.stats.texts_embedded == 0
    assert again.whats_new.empty and "nothing changed" in again.whats_new.summary()

    # One article changes: only it is read again; only the cells its statements fill are recomputed.
    ministry = views.corpus / "c_ministry.md"
    ministry.write_text(MINISTRY + "\n" + SANCTIONS_LINE, encoding="utf-8")
    report = views.ingest()
    assert report.updated == ["corpus/c_ministry.md"]
    new = views.refresh()
    assert new.stats.articles_extracted == ["corpus/c_ministry.md"]
    assert sorted(new.stats.articles_reused) == ["corpus/a_wire.md", "corpus/b_daily.md"]
    affected = cells_citing(again, "corpus/c_ministry.md") | cells_citing(new, "corpus/c_ministry.md")
    assert set(new.stats.cells_recomputed) == affected
    assert "ukraine|sanctions" in affected and "ukraine|ceasefire" in affected
    assert len(new.stats.cells_reused) == len(new.board.cells) - len(affected) > 0
    # Reused cells and the other articles' extraction are the stored objects, unchanged.
    assert new.board.cells["russia|black_sea"] == again.board.cells["russia|black_sea"]
    assert new.articles["corpus/a_wire.md"] == again.articles["corpus/a_wire.md"]

    # What's new: the sanctions cell gained the new statement, with its evidence; the timeline did not change.
    news = new.whats_new
    assert news.articles_changed == ["corpus/c_ministry.md"] and not news.events
    (sanctions,) = [d for d in news.cells if (d.party, d.issue) == ("ukraine", "sanctions")]
    assert [s.sources[0].article_id for s in sanctions.added] == ["corpus/c_ministry.md"]
    assert "Ukraine demands new sanctions" in sanctions.added[0].text
    summary = news.summary()
    assert "Ukraine × Sanctions" in summary and "+ “Ukraine demands new sanctions" in summary


def test_new_and_removed_articles_show_as_new_and_removed_events(fresh_views: Callable[..., Views]) -> None:
    views = fresh_views()
    views.refresh()
    (views.corpus / "d_summit.md").write_text(
        MINISTRY.replace("Statement on a temporary ceasefire", "Summit")
        + "\nDelegations of Russia and Ukraine met in Geneva on 9 September 2024 for a summit on prisoners.\n",
        encoding="utf-8",
    )
    (views.corpus / "b_daily.md").unlink()
    report = views.ingest()
    assert report.added == ["corpus/d_summit.md"] and report.deleted == ["corpus/b_daily.md"]
    state = views.refresh()
    assert state.stats.articles_extracted == ["corpus/d_summit.md"]
    assert state.stats.articles_removed == ["corpus/b_daily.md"]
    statuses = {(d.status, d.event.iso) for d in state.whats_new.events}
    assert ("added", "2024-09-09") in statuses
    # The 5 June meeting lost one of its two sources; the conflicting signing date lost its rival.
    changed = {d.event.iso: d.note for d in state.whats_new.events if d.status == "changed"}
    assert "source gone: corpus/b_daily.md" in changed["2023-06-05"]
    assert "no longer conflicts" in changed["2022-07-22"]
    assert ("removed", "2022-07-27") in statuses


def test_config_change_rebuilds_everything_and_staleness_is_detected(fresh_views: Callable[..., Views]) -> None:
    views = fresh_views()
    stored = views.refresh()
    assert not is_stale(views.settings, stored)
    (views.corpus / "a_wire.md").unlink()
    views.ingest()
    assert is_stale(views.settings, load_views(views.settings))  # type: ignore[arg-type]
    stored.config = "another-configuration"
    rebuilt = ViewsBuilder(views.store).run(stored)
    assert rebuilt.stats.full_rebuild and len(rebuilt.stats.articles_extracted) == 2
    assert whats_new(stored, rebuilt).articles_removed == ["corpus/a_wire.md"]


def test_ingest_hook_refreshes_views_and_a_views_failure_does_not_fail_the_ingest(
    fresh_views: Callable[..., Views], monkeypatch: pytest.MonkeyPatch
) -> None:
    views = fresh_views()
    assert load_views(views.settings) is None  # the pipeline leaves views alone unless asked
    views.pipeline.refresh_views = True
    (views.corpus / "c_ministry.md").write_text(MINISTRY + "\n" + SANCTIONS_LINE, encoding="utf-8")
    report = views.ingest()
    assert report.ok and report.views_error is None
    assert report.views and "Analyst views built" in report.views
    assert load_views(views.settings) is not None

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("views store is read-only")

    monkeypatch.setattr(state_module, "refresh_views", broken)
    (views.corpus / "c_ministry.md").write_text(MINISTRY, encoding="utf-8")
    report = views.ingest()
    assert report.ok and report.updated == ["corpus/c_ministry.md"]
    assert report.views is None and report.views_error == "RuntimeError: views store is read-only"
