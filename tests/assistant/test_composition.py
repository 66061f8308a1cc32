"""Composition of extractive answers: date order, party grouping, and quoting both sides where sources disagree."""

from __future__ import annotations

import pytest

from assistant.answering.composition import (
    DISAGREEMENT_TEXT,
    disagreement,
    first_party,
    question_kind,
    question_parties,
    sentence_day,
)
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.embedding import Embedder
from assistant.models import ArticleMetadata, Chunk, Evidence
from assistant.verification import states_a_fact


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What is the latest on the grain deal?", "status"),
        ("What is the current status of the talks?", "status"),
        ("When did the Istanbul talks break off?", "timeline"),
        ("What happened after the Jeddah meeting?", "timeline"),
        ("What is Russia's position on NATO membership?", "stance"),
        ("What did Ukraine propose in its peace formula?", "stance"),
        ("What is the Minsk Protocol?", "other"),
        ("What does the position paper say about grain exports?", "other"),  # a stance word without a party
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_sentence_day_prefers_the_date_the_sentence_states() -> None:
    stated = sentence_day("The talks were held on 10 March 2022 in Antalya.", "2025-05-11")
    published = sentence_day("The talks were held in Antalya.", "2025-05-11")
    undated = sentence_day("The talks were held in Antalya.", None)
    assert stated < published < undated


def test_parties_in_question_order_and_first_party_of_a_sentence() -> None:
    parties = question_parties("How do Ukraine's and Russia's positions on Crimea differ?")
    assert parties == ["ukraine", "russia"]
    assert first_party("Russia says Crimea is Russian, and Ukraine rejects it.", parties) == 1
    assert first_party("Ukraine insists on its 1991 borders.", parties) == 0
    assert first_party("The OSCE observed the vote.", parties) == 2


def test_disagreement_needs_a_shared_topic_and_a_replaced_specific() -> None:
    istanbul = "A fourth and fifth round of talks were held on 10 and 14 March in Istanbul, Turkey."
    antalya = "A fourth and fifth round of talks were held on 10 and 14 March in Antalya, Turkey."
    found = disagreement(istanbul, antalya, 0.95, "Where were the later rounds held?", same_article=False)
    assert found is not None
    assert found.only_first == {"istanbul"} and found.only_second == {"antalya"}
    # The same article, a distant topic, or one side adding a detail without replacing one: no disagreement.
    assert disagreement(istanbul, antalya, 0.95, "Where?", same_article=True) is None
    assert disagreement(istanbul, antalya, 0.3, "Where?", same_article=False) is None
    longer = "A fourth and fifth round of talks were held on 10 and 14 March in Istanbul, Turkey, with Abramovich."
    assert disagreement(istanbul, longer, 0.95, "Where?", same_article=False) is None
    # What the question itself names is not a difference between the sources.
    either = "Were they held in Istanbul or in Antalya?"
    assert disagreement(istanbul, antalya, 0.95, either, same_article=False) is None


def test_the_disagreement_notice_is_not_a_claim_to_verify() -> None:
    assert not states_a_fact(DISAGREEMENT_TEXT)


def _evidence(rank: int, text: str, article: str, published: str | None = None) -> Evidence:
    chunk = Chunk(f"c{rank}", article, 0, text, 0, len(text), ArticleMetadata(title=article, published=published))
    return Evidence(chunk, 0.7, rank)


@pytest.mark.slow
def test_two_sources_that_disagree_are_both_quoted_after_the_notice(embedder: Embedder) -> None:
    evidence = [
        _evidence(1, "A fourth and fifth round of talks were held on 10 and 14 March in Istanbul, Turkey.", "a.md"),
        _evidence(2, "A fourth and fifth round of talks were held on 10 and 14 March in Antalya, Turkey.", "b.md"),
    ]
    draft = ExtractiveAnswerer(embedder).run("Where were the fourth and fifth rounds of talks held?", evidence)
    assert draft.sentences is not None
    assert draft.sentences[0].text == DISAGREEMENT_TEXT and draft.sentences[0].cites == []
    assert sorted(s.cites for s in draft.sentences[1:]) == [[1], [2]]
    assert draft.text.startswith(DISAGREEMENT_TEXT + " A fourth")


@pytest.mark.slow
def test_agreeing_duplicates_still_merge_without_a_notice(embedder: Embedder) -> None:
    sentence = "A fourth and fifth round of talks were held on 10 and 14 March in Istanbul, Turkey."
    evidence = [_evidence(1, sentence, "a.md"), _evidence(2, sentence, "b.md")]
    draft = ExtractiveAnswerer(embedder).run("Where were the fourth and fifth rounds of talks held?", evidence)
    assert DISAGREEMENT_TEXT not in draft.text
    assert draft.sentences is not None and draft.sentences[0].cites == [1, 2]


@pytest.mark.slow
def test_timeline_answers_read_in_date_order(embedder: Embedder) -> None:
    evidence = [
        _evidence(1, "The second round of peace talks was held on 3 March 2022 at the Belarus border.", "a.md"),
        _evidence(2, "The first round of peace talks was held on 28 February 2022 at the Belarus border.", "b.md"),
        _evidence(3, "The third round of peace talks was held on 7 March 2022 at the Belarus border.", "c.md"),
    ]
    draft = ExtractiveAnswerer(embedder, max_sentences=3).run("When were the rounds of peace talks held?", evidence)
    assert draft.sentences is not None
    days = [s.text.split(" on ")[1].split(" at ")[0] for s in draft.sentences]
    assert days == ["28 February 2022", "3 March 2022", "7 March 2022"]


@pytest.mark.slow
def test_stance_answers_keep_each_party_together(embedder: Embedder) -> None:
    evidence = [
        _evidence(1, "Russia demands that Ukraine renounce its plans to join NATO for good.", "a.md"),
        _evidence(2, "Ukraine insists that its path to NATO membership is its own sovereign decision.", "b.md"),
        _evidence(3, "Russia also demands that NATO rule out membership for Ukraine in its treaty.", "c.md"),
    ]
    question = "What are Ukraine's and Russia's positions on NATO membership?"
    draft = ExtractiveAnswerer(embedder, max_sentences=3).run(question, evidence)
    assert draft.sentences is not None
    leaders = [s.text.split()[0] for s in draft.sentences]
    assert leaders[0] == "Ukraine" and leaders[1:] == ["Russia", "Russia"]


def test_a_count_question_needs_a_number_of_what_it_counts() -> None:
    from assistant.answering.composition import counted_terms, states_a_count

    counted = counted_terms("How many prisoners did the two sides exchange in May 2025?")
    assert {"prisoner"} <= counted
    assert states_a_count("The sides exchanged 1,000 prisoners each in Istanbul.", counted)
    assert states_a_count("Russia returned two hundred prisoners of war.", counted)
    assert not states_a_count("The 2025 talks in Istanbul discussed prisoners.", counted)  # a year is not a count
    assert counted_terms("How much grain was shipped?") == set()  # not a count of things: any figure may answer


@pytest.mark.slow
def test_a_count_question_whose_passages_give_no_count_is_not_answered(embedder: Embedder) -> None:
    evidence = [_evidence(1, "The Istanbul talks in May 2025 discussed an exchange of prisoners of war.", "a.md")]
    draft = ExtractiveAnswerer(embedder).run("How many prisoners of war were exchanged in May 2025?", evidence)
    assert draft.abstained and "no number of" in draft.text
    evidence = [_evidence(1, "In May 2025 the sides exchanged 1,000 prisoners of war each after the talks.", "a.md")]
    draft = ExtractiveAnswerer(embedder).run("How many prisoners of war were exchanged in May 2025?", evidence)
    assert not draft.abstained


def test_source_date_labels_round_trip() -> None:
    from assistant.answering.composition import source_date_label, split_source_date, states_a_date

    label = source_date_label("2025-03-11")
    assert label == "(source dated 11 March 2025) "
    assert split_source_date(label + "Talks resumed.") == ("2025-03-11", "Talks resumed.")
    assert split_source_date("(see below) Talks resumed.") == (None, "(see below) Talks resumed.")
    assert states_a_date("Talks resumed on 16 May 2025 in Istanbul.", None)
    assert not states_a_date("Talks resumed on 16 May in Istanbul.", None)  # no year: the label still helps


@pytest.mark.slow
def test_dateless_sentences_of_a_status_answer_carry_their_source_date(embedder: Embedder) -> None:
    evidence = [
        _evidence(1, "The grain corridor remains closed and no ships have sailed from Odesa.", "a.md", "2023-08-02"),
        _evidence(2, "Russia suspended the grain deal on 17 July 2023 and the corridor closed.", "b.md", "2023-07-18"),
    ]
    draft = ExtractiveAnswerer(embedder, max_sentences=3).run(
        "What is the current status of the grain corridor?", evidence
    )
    assert draft.sentences is not None
    texts = [s.text for s in draft.sentences]
    assert texts[0].startswith("Russia suspended")  # dated 17 July 2023: first, and without a label
    assert (
        texts[1]
        == "(source dated 2 August 2023) The grain corridor remains closed and no ships have sailed from Odesa."
    )
