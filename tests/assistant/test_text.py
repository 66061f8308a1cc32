"""Tests for assistant.text: sentence spans with exact offsets, footnote stripping, the prose-sentence filter."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from assistant.text import Span, is_prose_sentence, is_signpost, split_sentences, strip_footnotes

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"


def _texts(text: str) -> list[str]:
    return [span.text for span in split_sentences(text)]


def _assert_offsets(source: str, spans: list[Span], offset: int = 0) -> None:
    for span in spans:
        assert span.text == source[span.start - offset : span.end - offset]
        assert span.text == span.text.strip() and span.text


def test_offsets_point_at_the_exact_text() -> None:
    text = "  The first round took place.  The second one failed!\n\nA third? Maybe.  "
    spans = split_sentences(text)
    assert [s.text for s in spans] == ["The first round took place.", "The second one failed!", "A third?", "Maybe."]
    _assert_offsets(text, spans)


def test_offset_argument_shifts_every_span() -> None:
    text = "Talks resumed in May. They ended in June."
    shifted = split_sentences(text, offset=1000)
    plain = split_sentences(text)
    assert [(s.start - 1000, s.end - 1000) for s in shifted] == [(s.start, s.end) for s in plain]
    assert shifted[1] == Span("They ended in June.", 1022, 1041)
    _assert_offsets(text, shifted, offset=1000)


@pytest.mark.parametrize("path", sorted(CORPUS_DIR.glob("*.md")), ids=lambda p: p.name)
def test_offsets_on_real_corpus_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    spans = split_sentences(text)
    assert len(spans) > 3
    _assert_offsets(text, spans)
    # Spans are in order and never overlap.
    for before, after in itertools.pairwise(spans):
        assert before.end <= after.start
    for span in spans:
        assert "\n\n" not in span.text  # a sentence never crosses a paragraph break
        assert not re.match(r"\[\d+\]", span.text)  # a footnote never opens a sentence: it stays with the one before


def test_abbreviations_and_decimals_do_not_end_a_sentence() -> None:
    text = (
        "The U.S. delegation met Mr. Smith in Room No. 2 on Monday. "
        "The meeting lasted 3.5 hours. Dr. Brown said the U.K. agreed."
    )
    assert _texts(text) == [
        "The U.S. delegation met Mr. Smith in Room No. 2 on Monday.",
        "The meeting lasted 3.5 hours.",
        "Dr. Brown said the U.K. agreed.",
    ]


def test_initials_do_not_end_a_sentence() -> None:
    assert _texts("It was signed by J. Smith and the envoy. Then they left.") == [
        "It was signed by J. Smith and the envoy.",
        "Then they left.",
    ]


def test_wikipedia_footnotes_stay_with_their_sentence() -> None:
    text = "They agreed to hold talks.[5][6] Next round was planned."
    spans = split_sentences(text)
    assert [s.text for s in spans] == ["They agreed to hold talks.[5][6]", "Next round was planned."]
    _assert_offsets(text, spans)


def test_spaced_footnote_stays_with_the_sentence_before() -> None:
    text = "It concluded without result. [1] A second round followed. [2] [3]"
    assert _texts(text) == ["It concluded without result. [1]", "A second round followed. [2] [3]"]


def test_quotes_and_brackets_close_the_sentence() -> None:
    assert _texts('He said "we will stop." Then he left.') == ['He said "we will stop."', "Then he left."]
    assert _texts("(This was later denied.) Talks went on.") == ["(This was later denied.)", "Talks went on."]


def test_lower_case_continuation_after_a_period_is_not_a_new_sentence() -> None:
    assert _texts("Talks were held in Gomel obl. and later in Istanbul.") == [
        "Talks were held in Gomel obl. and later in Istanbul."
    ]


def test_blank_lines_and_headings_break_sentences() -> None:
    text = "# Istanbul talks\nThe delegations met in Istanbul\n\nA new paragraph starts here"
    assert _texts(text) == ["# Istanbul talks", "The delegations met in Istanbul", "A new paragraph starts here"]


def test_list_items_and_title_lines_break_sentences() -> None:
    text = "Key points\n- a ceasefire of 30 days\n- an exchange of prisoners\n1. first item\n2) second item"
    assert _texts(text) == [
        "Key points",
        "- a ceasefire of 30 days",
        "- an exchange of prisoners",
        "1. first item",
        "2) second item",
    ]


def test_a_line_ending_with_a_comma_continues_the_sentence() -> None:
    text = "The parties agreed on a ceasefire,\nthe withdrawal of heavy weapons,\nand a prisoner exchange."
    spans = split_sentences(text)
    assert len(spans) == 1
    assert spans[0].text == text


def test_empty_and_whitespace_only_text() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n \t ") == []


def test_strip_footnotes() -> None:
    assert strip_footnotes("talks.[5][6] Next") == "talks. Next"
    assert strip_footnotes("result. [1] A second") == "result. A second"
    assert strip_footnotes("on 3 and 7 March 2022 [2] [3] on the border. [4]") == "on 3 and 7 March 2022 on the border."
    # Text in brackets that is not a number is not a footnote.
    assert strip_footnotes("he said [the Russians] agreed") == "he said [the Russians] agreed"


def test_is_prose_sentence() -> None:
    assert is_prose_sentence("The first meeting was held on 28 February in Belarus.")
    assert is_prose_sentence("It concluded without result after many hours. [1]")
    assert is_prose_sentence('He said: "the talks will resume on Thursday."')
    # Headings, breadcrumbs, captions: no terminal punctuation.
    assert not is_prose_sentence("# Peace negotiations in the Russian invasion of Ukraine")
    assert not is_prose_sentence("Home > News > Ukraine > Peace talks resume")
    # Too short.
    assert not is_prose_sentence("It failed.")
    assert not is_prose_sentence("Talks. [1] [2] [3] [4] [5]")
    assert is_prose_sentence("It failed.", min_words=2)


def test_a_list_number_stays_with_its_item() -> None:
    text = (
        "Steps:\n\n1. Ensure the immediate bilateral cessation of the use of weapons.\n\n"
        "2.\nAdopt measures. (3) Hold talks."
    )
    assert [s.text for s in split_sentences(text)] == [
        "Steps:",
        "1. Ensure the immediate bilateral cessation of the use of weapons.",
        "2.\nAdopt measures.",
        "(3) Hold talks.",
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "In this article, we will delve into the latest news surrounding the Russia-Ukraine peace talks.",
        "We aim to deliver an insightful analysis, keeping you informed about the diplomatic efforts underway.",
        "Now, let's talk about the roadblocks.",
        "Understanding the current status of negotiations is crucial to grasping the complexities of the situation.",
        "So, what could happen, and what does it all mean in the long run?",
        "Here, we explore what the ceasefire would mean.",
        "In conclusion, the Russia-Ukraine peace talks represent a critical juncture in the ongoing conflict.",
        "To sum up, the path to peace remains fraught with challenges.",
    ],
)
def test_signposts_are_recognised(sentence: str) -> None:
    assert is_signpost(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "In this connection, despite everything, we propose that the authorities in Kiev should resume the talks.",
        "The negotiations in Turkey produced the Istanbul Communiqué.",
        "Understanding was reached on the exchange of prisoners.",
        "The report said that the talks in this round were crucial.",
        "In conclusion, the parties agreed on an immediate 30-day ceasefire.",
        "Overall, 57 states voted against the resolution.",
    ],
)
def test_claims_are_not_signposts(sentence: str) -> None:
    assert not is_signpost(sentence)
