"""Light English term handling shared by the extractive answerer and the citation check.

Deliberately small: lower-casing, a stop-word list, crude suffix stripping, and aliases for the names this corpus
spells several ways (Turkey/Türkiye, US/United States, Kyiv/Kiev ...).
"""

from __future__ import annotations

import functools
import re
import unicodedata

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yet",
        "said",
        "says",
        "say",
        "tell",
        "told",
        "latest",
        "current",
        "currently",
        "status",
        "main",
        "key",
        "did",
        "does",
        "do",
        "happen",
        "happened",
        "propose",
        "proposed",
        "according",
        "regarding",
        "many",
        "much",
        "one",
        "ones",
    ]
)

MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)

PARTIES = frozenset(
    "russia ukraine united_states european_union united_nations turkey nato belarus china france germany "
    "united_kingdom security_council osce".split()
)

ALIASES = {
    "türkiye": "turkey", "turkiye": "turkey", "turkish": "turkey", "ankara": "turkey",
    "us": "united_states", "usa": "united_states", "america": "united_states", "american": "united_states",
    "un": "united_nations", "eu": "european_union", "kiev": "kyiv", "russian": "russia", "ukrainian": "ukraine",
    "zelensky": "zelenskyy", "zelenskiy": "zelenskyy", "nato's": "nato",
    "washington": "united_states", "moscow": "russia", "kremlin": "russia",
}  # fmt: skip

# (pattern, replacement, substrings of the case-folded text without which the pattern cannot match). Most chunks
# hold none of them, and testing for a substring is ten times cheaper than scanning with the pattern.
_PHRASES = [
    (re.compile(r"\bunited states\b|\bu\.s\.(?:a\.)?", re.I), " united_states ", ("united states", "u.s.")),
    (re.compile(r"\bunited nations\b|\bu\.n\.", re.I), " united_nations ", ("united nations", "u.n.")),
    (re.compile(r"\beuropean union\b|\be\.u\.", re.I), " european_union ", ("european union", "e.u.")),
    (
        re.compile(r"\bunited kingdom\b|\bu\.k\.|\bUK\b|\bBritain\b"),
        " united_kingdom ",
        ("united kingdom", "u.k.", "uk", "britain"),
    ),
    (re.compile(r"\b(?:UN )?security council\b|\bUNSC\b", re.I), " security_council ", ("security council", "unsc")),
]
_TOKEN = re.compile(r"[a-z0-9_]+(?:'[a-z]+)?")


def _fold(text: str) -> str:
    """Lower-case and strip accents (Bürgenstock -> burgenstock, Communiqué -> communique)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    marks = {ord(c): None for c in set(decomposed) if not c.isascii() and unicodedata.combining(c)}
    return decomposed.translate(marks).lower()


def stem(word: str) -> str:
    """A crude stemmer: enough to match 'negotiations'/'negotiated', 'proposals'/'proposed'."""
    for suffix in ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_terms(text: str) -> list[str]:
    """Normalised content words of a text, in order (stop words dropped, aliases merged, stemmed)."""
    folded, lowered = text, text.casefold()
    for pattern, replacement, needles in _PHRASES:
        if any(needle in lowered for needle in needles):
            folded = pattern.sub(replacement, folded)
    terms = []
    for token in _TOKEN.findall(_fold(folded)):
        term = _content_term(token)
        if term is not None:
            terms.append(term)
    return terms


@functools.lru_cache(maxsize=1 << 16)
def _content_term(token: str) -> str | None:
    """One token's normalised term, or None for a stop word (cached: a corpus repeats a few thousand words)."""
    token = token.removesuffix("'s")
    token = ALIASES.get(token, token)
    if token in STOPWORDS or len(token) < 2:
        return None
    return token if "_" in token or token.isdigit() else stem(token)


def key_terms(question: str) -> set[str]:
    """Terms a passage must mention to answer the question: names (capitalised mid-sentence) and numbers.

    "What did China propose?" -> {"china"}: if no retrieved passage mentions China, the corpus does not answer it.
    """
    keys: set[str] = set()
    words = [w.strip(".'’-,;:!?()\"“”") for w in re.findall(r"\S+", question)]
    run: list[str] = []  # consecutive capitalised words form one name ("United States", "Black Sea")
    for i, word in enumerate([*words, ""]):
        is_name = bool(word) and (
            word[0].isdigit() or (i > 0 and word[0].isupper()) or (word.isupper() and len(word) > 1)
        )
        if is_name and word.lower().rstrip(".") not in MONTHS:
            run.append(word)
            continue
        if run:
            terms = set(content_terms(" ".join(run)))
            # A name the sentence opens with is cut from the run ("United" is not mid-sentence): joined back, it
            # may form a known phrase ("United Nations"), which then replaces its stray part ("nation").
            if i - len(run) == 1 and words[0][:1].isupper():
                phrases = {t for t in content_terms(" ".join([words[0], *run])) if "_" in t} - terms
                parts = {stem(w) for t in phrases for w in t.split("_")}
                terms = (terms - parts) | phrases
            keys.update(terms)
            run = []
    # The parties are names wherever they stand, first word included ("Russia said ..." must not pass for Ukraine).
    keys.update(t for t in content_terms(question) if t in PARTIES)
    return keys
