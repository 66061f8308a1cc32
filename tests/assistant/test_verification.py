"""Citation verification on crafted answers, judged by the real offline judge (embedding model + lexical checks)."""

from __future__ import annotations

import pytest

from assistant.embedding import Embedder
from assistant.models import Citation
from assistant.support import LexicalSemanticJudge, SupportVerdict
from assistant.verification import CitationVerifier, segment_answer, states_a_fact

ISTANBUL = (
    "The negotiations in Turkey produced the Istanbul Communiqué. It proposed that Ukraine end its plans to "
    "eventually join NATO, have limits placed on its military, and would have obliged Western countries to help "
    "Ukraine in case of aggression against it."
)
JEDDAH = (
    "On March 11 in Jeddah, Saudi Arabia, Ukraine accepted a U.S. proposal to enact an immediate, interim 30-day "
    "ceasefire and enter into immediate negotiations to end the Ukraine-Russia war."
)
BSGI = (
    "Russia suspended its participation in the Black Sea Grain Initiative on 17 July 2023, ending the safe passage "
    "of ships carrying grain from Ukrainian ports."
)


def _citation(number: int, passage: str, article: str) -> Citation:
    return Citation(
        number=number,
        chunk_id=f"{article}-0",
        article_id=article,
        title=article,
        publisher="Test",
        published="2025-03-11",
        source=None,
        passage=passage,
        passage_start=0,
        passage_end=len(passage),
        quote=passage,
        quote_start=0,
        quote_end=len(passage),
        highlights=[(0, len(passage))],
    )


CITATIONS = [_citation(1, ISTANBUL, "istanbul"), _citation(2, JEDDAH, "jeddah"), _citation(3, BSGI, "bsgi")]


@pytest.fixture(scope="module")
def verifier(embedder: Embedder) -> CitationVerifier:
    return CitationVerifier(LexicalSemanticJudge(embedder))


def test_supported_paraphrases_keep_their_citations(verifier: CitationVerifier) -> None:
    text = (
        "Ukraine accepted a U.S. proposal for an immediate 30-day interim ceasefire in Jeddah [2]. "
        "The Istanbul Communiqué proposed limits on Ukraine's military [1]."
    )
    result = verifier.run(text, CITATIONS)
    assert [c.supported for c in result.checks] == [True, True]
    assert result.groundedness == 1.0
    assert (
        result.text
        == "Ukraine accepted a U.S. proposal for an immediate 30-day interim ceasefire in Jeddah [1]. "
        + ("The Istanbul Communiqué proposed limits on Ukraine's military [2].")
    )
    # Renumbered in order of first appearance; the unused passage [3] is gone from the sources.
    assert [(c.number, c.article_id) for c in result.citations] == [(1, "jeddah"), (2, "istanbul")]
    assert result.notices == []


def test_a_changed_number_is_unsupported_and_loses_its_citation(verifier: CitationVerifier) -> None:
    result = verifier.run("Ukraine accepted a U.S. proposal for a 60-day ceasefire in Jeddah [2].", CITATIONS)
    (check,) = result.checks
    assert not check.supported
    assert "60" in check.reason
    assert check.dropped == [2] and check.citations == []
    assert result.citations == []
    assert result.text == "Ukraine accepted a U.S. proposal for a 60-day ceasefire in Jeddah."
    assert result.groundedness == 0.0
    assert any("not supported" in n for n in result.notices)


def test_a_wrong_citation_number_is_dropped_and_the_right_one_kept(verifier: CitationVerifier) -> None:
    # [3] (the grain deal) says nothing about Jeddah; [2] does.
    result = verifier.run(
        "In Jeddah, Ukraine accepted an interim 30-day ceasefire proposed by the U.S. [3][2].", CITATIONS
    )
    (check,) = result.checks
    assert check.supported
    assert check.dropped == [3]
    assert check.citations == [1]
    assert result.text == "In Jeddah, Ukraine accepted an interim 30-day ceasefire proposed by the U.S. [1]."
    assert [c.article_id for c in result.citations] == ["jeddah"]
    assert any("Dropped 1 citation" in n for n in result.notices)


def test_a_citation_to_the_wrong_passage_alone_marks_the_sentence(verifier: CitationVerifier) -> None:
    result = verifier.run("Russia suspended the Black Sea Grain Initiative on 17 July 2023 [1].", CITATIONS)
    (check,) = result.checks
    assert not check.supported
    assert check.dropped == [1]
    assert "[1] does not state this" in check.reason


def test_a_factual_sentence_without_citation_is_flagged(verifier: CitationVerifier) -> None:
    text = "Ukraine accepted a 30-day ceasefire in Jeddah [2]. The talks resumed in Geneva in 2026."
    result = verifier.run(text, CITATIONS)
    assert [c.supported for c in result.checks] == [True, False]
    assert result.checks[1].reason == "cites no passage"
    assert result.groundedness == 0.5
    # Offsets point at the sentences in the final text.
    for check in result.checks:
        assert result.text[check.start : check.end] == check.text


def test_strict_mode_removes_unsupported_sentences(embedder: Embedder) -> None:
    strict = CitationVerifier(LexicalSemanticJudge(embedder), strict=True)
    text = "The talks resumed in Geneva in 2026. Ukraine accepted a 30-day ceasefire in Jeddah [2]. Minsk won [1]."
    result = strict.run(text, CITATIONS)
    assert result.text == "Ukraine accepted a 30-day ceasefire in Jeddah [1]."
    assert len(result.checks) == 1 and result.checks[0].supported
    assert result.checks[0].start == 0
    assert result.groundedness == pytest.approx(1 / 3)
    assert any("Strict mode removed 2" in n for n in result.notices)


def test_joint_support_keeps_both_citations(verifier: CitationVerifier) -> None:
    text = (
        "Russia left the Black Sea Grain Initiative on 17 July 2023, "
        "and on March 11 Ukraine accepted a 30-day ceasefire [3][2]."
    )
    result = verifier.run(text, CITATIONS)
    (check,) = result.checks
    assert check.supported, check.reason
    assert check.citations == [1, 2] and check.dropped == []


def test_verbatim_quotes_are_supported_without_the_judge() -> None:
    class RefusingJudge:
        name = "refuses"

        def judge(self, sentence: str, passages: list[str]) -> SupportVerdict:
            return SupportVerdict(False, 0.0, "never", self.name)

    verifier = CitationVerifier(RefusingJudge())
    result = verifier.run("The negotiations in Turkey produced the Istanbul Communiqué. [1]", CITATIONS)
    assert result.checks[0].supported and result.checks[0].score == 1.0
    # Extractive answers put the marker after the full stop; the text keeps that form.
    assert result.text == "The negotiations in Turkey produced the Istanbul Communiqué. [1]"


def test_abstentions_and_scraps_are_not_claims() -> None:
    assert not states_a_fact("The corpus does not say.")
    assert not states_a_fact("The passages do not answer this question.")
    assert not states_a_fact("Yes.")
    assert states_a_fact("Ukraine accepted a 30-day ceasefire.")
    assert states_a_fact("4548321 [1]")  # a bare figure (a 1.5B model's answer to an unanswerable question)
    assert not states_a_fact("See [2].")


def test_segments_give_leading_markers_to_the_previous_sentence() -> None:
    text = "First claim. [1] Second claim [2]. [3]"
    segments = segment_answer(text)
    assert [(s.claim, s.cites) for s in segments] == [("First claim.", [1]), ("Second claim.", [2, 3])]
    assert text[segments[0].start : segments[0].end] == "First claim. [1]"
    assert text[segments[1].start : segments[1].end] == "Second claim [2]. [3]"


def test_a_source_date_label_is_checked_against_the_cited_article_date(verifier: CitationVerifier) -> None:
    right = verifier.run(f"(source dated 11 March 2025) {JEDDAH} [2]", CITATIONS)
    assert [c.supported for c in right.checks] == [True] and right.groundedness == 1.0
    wrong = verifier.run(f"(source dated 1 January 2020) {JEDDAH} [2]", CITATIONS)
    assert [c.supported for c in wrong.checks] == [False]
    assert "no cited source is dated 2020-01-01" in wrong.checks[0].reason
