"""The analyst tabs: built inside a Blocks from the stored views (no browser), corpus text shown as text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gradio as gr
from matplotlib.figure import Figure

from assistant.analyst.state import ViewsState
from assistant.config import Settings
from assistant.ui.analyst import (
    NO_VIEWS,
    add_analyst_tabs,
    cell_markdown,
    overview_rows,
    timeline_figure,
    timeline_rows,
    whats_new_markdown,
)
from tests.assistant.analyst.conftest import MINISTRY, SANCTIONS_LINE, Views


def components(blocks: gr.Blocks) -> list[dict[str, object]]:
    return list(blocks.get_config_file()["components"])


def test_tabs_build_from_stored_views(crafted: Views) -> None:
    with gr.Blocks() as demo, gr.Tabs():
        add_analyst_tabs(crafted.settings)
    parts = components(demo)
    tabs = [c["props"]["label"] for c in parts if c["type"] == "tabitem"]  # type: ignore[index]
    assert tabs == ["Stances", "Timeline"]
    frames = [c for c in parts if c["type"] == "dataframe"]
    # Both tables hold plain strings: Gradio shows them as text, never as Markdown or HTML.
    assert [c["props"]["datatype"] for c in frames] == ["str", "str"]  # type: ignore[index]
    assert any(c["type"] == "plot" for c in parts)
    grid = next(c for c in frames if c["props"]["elem_id"] == "stances-grid")  # type: ignore[index]
    rows = grid["props"]["value"]["data"]  # type: ignore[index]
    assert rows[1][0] == "Ukraine" and "⟳ changed" in rows[1][4]


def test_panels_and_chart(crafted: Views) -> None:
    state = crafted.state()
    headers, rows = overview_rows(state.board)
    assert headers[0] == "Party" and headers[4] == "Ceasefire terms"
    assert rows[1][4] == "2 statements · 2024-02-01 · ⟳ changed"
    detail = cell_markdown(state.board, "Ukraine", "Ceasefire terms")
    assert "2024\\-02\\-01" in detail and "Position changed" in detail and "\\[1\\]" in detail
    assert "no statement in the corpus" in cell_markdown(state.board, "Turkey", "Sanctions")
    table, sources = timeline_rows(state.timeline.events)
    assert [r[1] for r in table] == ["2022-07-22", "2022-07-27", "2023-06-05"]
    assert table[0][5].startswith("⚠ other dates: 2022-07-27") and table[2][4] == "[1][2]"
    assert "Wire Service" not in sources and "Prisoner exchange talks open in Istanbul" in sources
    figure = timeline_figure(state.timeline.events)
    assert isinstance(figure, Figure) and figure.axes[0].get_yticklabels()


def test_corpus_markup_is_escaped(fresh_views: Callable[..., Views]) -> None:
    views = fresh_views()
    (views.corpus / "c_ministry.md").write_text(MINISTRY + "\n" + SANCTIONS_LINE, encoding="utf-8")
    views.ingest()
    state: ViewsState = views.refresh()
    detail = cell_markdown(state.board, "Ukraine", "Sanctions")
    assert "Ukraine demands new sanctions" in detail
    assert "<img" not in detail and "&lt;img src" in detail
    assert "](" not in detail  # the link is inert text
    assert "<" not in whats_new_markdown(state).replace("&lt;", "")  # "what's new" is a literal code block


def test_without_views_the_tabs_say_how_to_get_them(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "empty")
    with gr.Blocks() as demo, gr.Tabs():
        add_analyst_tabs(settings)
    texts = [str(c["props"].get("value")) for c in components(demo) if c["type"] == "markdown"]  # type: ignore[union-attr]
    assert any("peacetalks ingest" in t for t in texts)
    assert "peacetalks ingest" in NO_VIEWS
