"""The lexical normalisation shared by BM25 and the answerer's scoring."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answering import lexical
from assistant.answering.lexical import _fold, content_terms


def reference_fold(text: str) -> str:
    """The plain definition the fast path must match: NFKD, drop every combining mark, lower-case."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


@pytest.mark.parametrize(
    "text",
    [
        "Bürgenstock Communiqué",
        "Zelenskyy’s “peace formula” — Türkiye",
        "ﬁnal Ａgreement",  # compatibility forms fold too
        "A\u0301\u0302b stacked marks",
        "Plain ASCII Text",
        "",
    ],
)
def test_fold_matches_the_reference(text: str) -> None:
    assert _fold(text) == reference_fold(text)


def test_content_terms_fold_alias_stem_and_drop_stop_words() -> None:
    assert content_terms("The Bürgenstock negotiations: Ukraine’s proposals to the U.N. in Kiev") == [
        "burgenstock",
        "negoti",
        "ukraine",
        "proposal",
        "united_nations",
        "kyiv",
    ]


def reference_content_terms(text: str) -> list[str]:
    """``content_terms`` without the substring pre-check: every alias pattern scans the text."""
    folded = text
    for pattern, replacement, _ in lexical._PHRASES:
        folded = pattern.sub(replacement, folded)
    return [term for token in lexical._TOKEN.findall(_fold(folded)) if (term := lexical._content_term(token))]


_ALIAS_SPELLINGS = [
    "United States",
    "UNITED STATES",
    "U.S.",
    "u.s.a.",
    "U.ſ.",  # ſ (long s) matches s case-insensitively
    "United Nations",
    "U.N.",
    "European Union",
    "e.u.",
    "United Kingdom",
    "U.K.",
    "UK",
    "uk",
    "Britain",
    "BRITAIN",
    "UN Security Council",
    "security council",
    "UNSC",
    "unsc",
    "Ukraine",
    "Kiev",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_ALIAS_SPELLINGS), st.text(max_size=12)), max_size=12))
def test_the_alias_pre_check_never_changes_the_terms(parts: list[str]) -> None:
    text = " ".join(parts)
    assert content_terms(text) == reference_content_terms(text)
