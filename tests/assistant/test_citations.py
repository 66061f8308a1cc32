"""Tests for assistant.citations on hand-built evidence: renumbering, invalid markers, quotes, streaming."""

from __future__ import annotations

import re

import pytest

from assistant.answering.base import ABSTAIN_TEXT, Draft, DraftSentence
from assistant.citations import StreamingRenumberer, best_quote, parse_sentences, resolve_citations
from assistant.models import ArticleMetadata, Chunk, Evidence
from assistant.text import Span

PASSAGES = [
    # rank 1
    "The first meeting was held on 28 February 2022 in Belarus. It concluded without result. "
    "Delegations returned to their capitals for consultations.",
    # rank 2
    "The negotiations in Turkey produced the Istanbul Communiqué. "
    "It proposed that Ukraine end its plans to join NATO and accept limits on its military. "
    "The talks stopped in May 2022.",
    # rank 3
    "On 11 March 2025 in Jeddah, Ukraine accepted a U.S. proposal for an interim 30-day ceasefire. "
    "The United States resumed intelligence sharing and security assistance.",
]


def make_evidence(texts: list[str] = PASSAGES) -> list[Evidence]:
    evidence = []
    for rank, text in enumerate(texts, start=1):
        start = 1000 * rank + 17  # article offsets, deliberately not 0
        chunk = Chunk(
            chunk_id=f"chunk-{rank}",
            article_id=f"article-{rank}.md",
            index=rank - 1,
            text=text,
            start=start,
            end=start + len(text),
            metadata=ArticleMetadata(title=f"Article {rank}", publisher=f"Publisher {rank}", published="2025-03-11"),
        )
        evidence.append(Evidence(chunk=chunk, score=0.9 - rank / 10, rank=rank))
    return evidence


EVIDENCE = make_evidence()


def resolve(text: str, evidence: list[Evidence] = EVIDENCE):
    return resolve_citations(Draft(text=text), evidence)


def markers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", text)]


def stream_pieces(pieces: list[str], valid: set[int]) -> str:
    renumberer = StreamingRenumberer(valid)
    return "".join(renumberer.feed(piece) for piece in pieces) + renumberer.flush()


def test_markers_are_renumbered_in_order_of_first_appearance() -> None:
    result = resolve(
        "Ukraine accepted a 30-day ceasefire [3]. The Communiqué proposed Ukraine not join NATO [2]. "
        "The ceasefire was interim [3]."
    )
    assert result.text == (
        "Ukraine accepted a 30-day ceasefire [1]. The Communiqué proposed Ukraine not join NATO [2]. "
        "The ceasefire was interim [1]."
    )
    assert [(c.number, c.chunk_id) for c in result.citations] == [(1, "chunk-3"), (2, "chunk-2")]
    assert not result.abstained
    assert result.notices == []


def test_citation_carries_the_passage_and_its_metadata() -> None:
    (citation,) = resolve("The Communiqué proposed that Ukraine not join NATO [2].").citations
    chunk = EVIDENCE[1].chunk
    assert citation.article_id == "article-2.md"
    assert citation.title == "Article 2"
    assert citation.publisher == "Publisher 2"
    assert citation.published == "2025-03-11"
    assert (citation.passage, citation.passage_start, citation.passage_end) == (chunk.text, chunk.start, chunk.end)


def test_marker_to_no_passage_is_removed_and_reported() -> None:
    result = resolve("The first meeting was in Belarus [1]. Talks resumed in Istanbul [7].")
    assert "[7]" not in result.text
    assert markers(result.text) == [1]
    assert result.text.startswith("The first meeting was in Belarus [1].")
    assert [c.chunk_id for c in result.citations] == ["chunk-1"]
    assert len(result.notices) == 1
    assert "[7]" in result.notices[0]
    assert "1–3" in result.notices[0]


def test_only_invalid_markers_leave_an_unsupported_answer() -> None:
    result = resolve("Talks resumed in Istanbul [7][8].")
    assert markers(result.text) == []
    assert result.citations == []
    assert not result.abstained
    assert any("[7], [8]" in n for n in result.notices)
    assert any("cites no passage" in n for n in result.notices)


@pytest.mark.parametrize("form", ["[1, 3]", "[1][3]", "[1; 3]"])
def test_several_passages_in_one_marker(form: str) -> None:
    result = resolve(f"A ceasefire was discussed in Belarus and in Jeddah {form}.")
    assert [c.chunk_id for c in result.citations] == ["chunk-1", "chunk-3"]
    assert result.text == "A ceasefire was discussed in Belarus and in Jeddah [1][2]."


def test_duplicate_numbers_in_a_marker_are_shown_once() -> None:
    result = resolve("Ukraine accepted a ceasefire [3, 3].")
    assert result.text == "Ukraine accepted a ceasefire [1]."
    assert len(result.citations) == 1


def test_marker_opening_the_next_sentence_belongs_to_the_previous_one() -> None:
    sentences = parse_sentences("Ukraine accepted a 30-day ceasefire in Jeddah. [3] The talks in Belarus failed.")
    assert [(s.text, s.cites) for s in sentences] == [
        ("Ukraine accepted a 30-day ceasefire in Jeddah.", [3]),
        ("The talks in Belarus failed.", []),
    ]
    # A multi-number marker (which the splitter does not attach as a footnote) is moved back too.
    sentences = parse_sentences("Ceasefires were discussed. [1, 3] Nothing came of it.")
    assert [(s.text, s.cites) for s in sentences] == [
        ("Ceasefires were discussed.", [1, 3]),
        ("Nothing came of it.", []),
    ]


def test_marker_opening_a_sentence_quotes_for_the_previous_sentence() -> None:
    # Passage 2 has one sentence about NATO and one about May 2022: the quote must match the sentence before "[2]".
    result = resolve(
        "The Communiqué proposed that Ukraine end its plans to join NATO. [2] The talks stopped in May 2022."
    )
    (citation,) = result.citations
    assert citation.quote == "It proposed that Ukraine end its plans to join NATO and accept limits on its military."


def test_quote_is_the_best_matching_sentence_of_the_passage() -> None:
    result = resolve(
        "The delegations returned to their capitals for consultations [1]. "
        "The United States resumed intelligence sharing [3]."
    )
    first, second = result.citations
    assert first.quote == "Delegations returned to their capitals for consultations."
    assert second.quote == "The United States resumed intelligence sharing and security assistance."
    for citation in result.citations:
        rel_start = citation.quote_start - citation.passage_start
        rel_end = citation.quote_end - citation.passage_start
        assert citation.passage[rel_start:rel_end] == citation.quote
        assert citation.highlights == [(citation.quote_start, citation.quote_end)]


def test_each_use_of_a_passage_is_highlighted() -> None:
    result = resolve("The first meeting was held in Belarus [1]. Delegations returned to their capitals [1].")
    (citation,) = result.citations
    chunk = EVIDENCE[0].chunk
    spans = [chunk.text[s - chunk.start : e - chunk.start] for s, e in citation.highlights]
    assert spans == [
        "The first meeting was held on 28 February 2022 in Belarus.",
        "Delegations returned to their capitals for consultations.",
    ]
    assert citation.quote == spans[0]


def test_best_quote_returns_article_offsets() -> None:
    span = best_quote("a 30-day ceasefire proposal accepted in Jeddah", EVIDENCE[2])
    chunk = EVIDENCE[2].chunk
    assert span.text.startswith("On 11 March 2025 in Jeddah")
    assert chunk.text[span.start - chunk.start : span.end - chunk.start] == span.text


def test_quotes_given_by_the_backend_are_kept() -> None:
    chunk = EVIDENCE[0].chunk
    sentence = "It concluded without result."
    start = chunk.start + chunk.text.index(sentence)
    quote = Span(sentence, start, start + len(sentence))
    draft = Draft.from_sentences([DraftSentence("Nothing was agreed.", [1], {1: quote})])
    (citation,) = resolve_citations(draft, EVIDENCE).citations
    assert (citation.quote, citation.quote_start, citation.quote_end) == (sentence, quote.start, quote.end)


def test_abstention_without_citations() -> None:
    result = resolve(ABSTAIN_TEXT)
    assert result.abstained
    assert result.citations == []
    assert result.text == "The corpus does not say."
    assert result.notices == []


def test_abstained_draft_with_empty_text_gets_the_abstain_text() -> None:
    result = resolve_citations(Draft(text="", abstained=True), EVIDENCE)
    assert result.abstained
    assert result.text == ABSTAIN_TEXT


def test_uncited_answer_is_flagged_as_unsupported() -> None:
    result = resolve("The talks were held in Geneva in 2026.")
    assert not result.abstained
    assert result.citations == []
    assert result.text == "The talks were held in Geneva in 2026."
    assert len(result.notices) == 1
    assert "cites no passage" in result.notices[0]


def test_cited_answer_mentioning_no_information_is_not_an_abstention() -> None:
    result = resolve("There is no information on a deal, but a ceasefire was proposed [3].")
    assert not result.abstained
    assert len(result.citations) == 1


def test_streaming_renumberer_matches_the_final_text() -> None:
    pieces = ["Claim [", "3", "] and [1]."]
    final = resolve("".join(pieces)).text
    assert final == "Claim [1] and [2]."
    assert stream_pieces(pieces, {1, 2, 3}) == final


def test_streaming_renumberer_never_shows_a_raw_rank() -> None:
    renumberer = StreamingRenumberer({1, 2, 3})
    shown = [renumberer.feed(p) for p in ["Claim [", "3", ", 1", "] done", " [2", "]."]]
    assert shown == ["Claim", "", "", " [1][2] done", "", " [3]."]  # spaces wait for what follows them
    assert renumberer.flush() == ""


def test_streaming_renumberer_flushes_an_unfinished_marker_as_text() -> None:
    renumberer = StreamingRenumberer({1, 2, 3})
    assert renumberer.feed("Ceasefire [1] in [2") == "Ceasefire [1] in"
    assert renumberer.flush() == " [2"
    assert resolve("Ceasefire [1] in [2").text == "Ceasefire [1] in [2"


@pytest.mark.parametrize(
    "text",
    [
        "Ukraine accepted a ceasefire [3]. The Communiqué proposed neutrality [2, 1]. It failed. [3]",
        "The first meeting was in Belarus [1][2]. Ceasefire [3; 1].",
    ],
)
def test_streaming_character_by_character_matches_the_final_text(text: str) -> None:
    assert stream_pieces(list(text), {1, 2, 3}) == resolve(text).text


@pytest.mark.parametrize("text", ["Claim one [2]. Claim two [9] and [1].", "Talks resumed in Istanbul [9]."])
def test_streaming_matches_the_final_text_when_a_marker_is_removed(text: str) -> None:
    assert stream_pieces(list(text), {1, 2, 3}) == resolve(text).text
