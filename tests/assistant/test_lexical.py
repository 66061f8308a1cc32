"""The lexical normalisation shared by BM25 and the answerer's scoring."""

from __future__ import annotations

import unicodedata

import pytest

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
