"""The stance board: who holds a position (not who is merely named), cells with citations and dates newest first,
changes of position, empty cells, and the LLM backend's statements verified like answers."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.analyst.corpus import ArticleInfo, Source, Unit
from assistant.analyst.stances import NO_STATEMENT, CellBuilder, StanceBoard, extract_candidates, polarity
from assistant.analyst.vocabulary import ISSUE_BY_KEY, PARTY_BY_KEY
from assistant.answering.llm import LLMAnswerer
from assistant.support import LexicalSemanticJudge
from tests.assistant.analyst.conftest import Views


def units_of(*sentences: str) -> list[Unit]:
    out, cursor = [], 0
    for i, text in enumerate(sentences):
        out.append(
            Unit(Source("corpus/x.md", f"c{i}", "X", "Agency", "2024-01-01", text, cursor, cursor + len(text)), i)
        )
        cursor += len(text) + 1
    return out


def holders(text: str, publisher: str = "Agency") -> set[tuple[str, str]]:
    info = ArticleInfo("corpus/x.md", "sha", "Some article", publisher, "2024-01-01")
    return {(c.party, c.issue) for c in extract_candidates(info, units_of(text))}


def test_a_party_must_hold_the_position_not_just_be_named() -> None:
    assert ("russia", "territory") in holders(
        "Russia's terms are that Russia must be allowed to keep all the land it occupies."
    )
    assert ("ukraine", "ceasefire") in holders("Ukraine expressed its readiness to accept a temporary ceasefire.")
    # Objects, settings and the subjects of another party's demand hold nothing.
    assert ("ukraine", "security_guarantees") not in holders(
        "The United States resumed security assistance to Ukraine."
    )
    assert ("russia", "territory") not in holders(
        "As of 2024, Ukraine's peace terms are that Russia withdraw its troops from the occupied territories."
    )
    assert holders("The Russia-Ukraine peace talks will address a ceasefire and sanctions.") == set()
    assert holders("Talks in Turkey discussed the Black Sea grain corridor at length.") == set()
    # "We" is the party only in that party's own publication.
    kremlin = "President of Russia (Kremlin)"
    assert ("russia", "ceasefire") in holders("We have proposed steps towards a ceasefire on many occasions.", kremlin)
    assert holders("We have proposed steps towards a ceasefire on many occasions.") == set()


def test_polarity_of_a_position() -> None:
    assert polarity("rejected any ceasefire that would freeze the front line") == -1
    assert polarity("decision to suspend participation in the Black Sea Grain Initiative") == -1
    assert polarity("expressed its readiness to accept a temporary ceasefire") == 1
    assert polarity("terms are that it keeps the land") == 0


def test_cells_cite_and_date_statements_newest_first_and_show_the_change(crafted: Views) -> None:
    board = crafted.state().board
    cell = board.cell("ukraine", "ceasefire")
    assert [s.date for s in cell.statements] == ["2024-02-01", "2023-06-06"]  # newest first
    newest, oldest = cell.statements
    assert newest.text == "Ukraine expressed its readiness to accept a temporary ceasefire if Russia does the same."
    assert [s.article_id for s in newest.sources] == ["corpus/c_ministry.md"]
    assert oldest.sources[0].article_id == "corpus/a_wire.md"
    assert newest.support == 1.0 and newest.date_basis == "published"
    (change,) = cell.changes
    assert (change.before_date, change.after_date) == ("2023-06-06", "2024-02-01")
    assert "rejected" in change.before and "readiness" in change.after
    # The US statement is about security assistance only; the sentence naming Ukraine as recipient is not Ukraine's.
    assert board.cell("united_states", "security_guarantees").statements
    assert not board.cell("ukraine", "security_guarantees").statements
    # Every core party has a row; a cell with nothing says so.
    assert board.parties[:6] == ["russia", "ukraine", "united_states", "european_union", "turkey", "united_nations"]
    assert board.cell("turkey", "sanctions").empty
    assert StanceBoard.from_dict(board.to_dict()) == board
    assert NO_STATEMENT == "no statement in the corpus"


def test_llm_statements_are_verified_and_unsupported_ones_dropped(crafted: Views) -> None:
    state = crafted.state()
    candidates = [
        c for a in state.articles.values() for c in a.candidates if (c.party, c.issue) == ("ukraine", "ceasefire")
    ]
    reply = (
        "Ukraine expressed its readiness to accept a temporary ceasefire if Russia does the same [1][2]. "
        "Ukraine demanded a ceasefire on Mars by 2031 [1][2]."
    )
    llm = LLMAnswerer(FakeListChatModel(responses=[reply]), name="llm:fake")
    judge = LexicalSemanticJudge(crafted.store.embedder)
    cell = CellBuilder(crafted.store, crafted.store.embedder, judge, llm=llm).run(
        PARTY_BY_KEY["ukraine"], ISSUE_BY_KEY["ceasefire"], candidates, key="k"
    )
    assert cell.backend == "llm:fake"
    assert [s.text for s in cell.statements] == [
        "Ukraine expressed its readiness to accept a temporary ceasefire if Russia does the same."
    ]
    assert cell.statements[0].sources and cell.statements[0].date == "2024-02-01"


def test_llm_failure_falls_back_to_quoted_statements(crafted: Views) -> None:
    state = crafted.state()
    candidates = [
        c for a in state.articles.values() for c in a.candidates if (c.party, c.issue) == ("ukraine", "ceasefire")
    ]
    broken = LLMAnswerer(FakeListChatModel(responses=[]), name="llm:broken")  # raises on the first call
    judge = LexicalSemanticJudge(crafted.store.embedder)
    cell = CellBuilder(crafted.store, crafted.store.embedder, judge, llm=broken).run(
        PARTY_BY_KEY["ukraine"], ISSUE_BY_KEY["ceasefire"], candidates, key="k"
    )
    assert cell.backend == "extractive" and cell.notices
    assert len(cell.statements) == 2
