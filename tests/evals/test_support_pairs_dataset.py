"""Checks on evals/datasets/support_pairs.jsonl, the labelled set for validating the offline support judge."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASET = REPO_ROOT / "evals" / "datasets" / "support_pairs.jsonl"
CORPUS_DIR = REPO_ROOT / "corpus"

SUPPORTED_KINDS = frozenset({"verbatim", "paraphrase", "partial-synthesis"})
UNSUPPORTED_KINDS = frozenset({"wrong-number", "wrong-entity", "negation", "unrelated", "overclaim", "invented"})
ALL_KINDS = SUPPORTED_KINDS | UNSUPPORTED_KINDS
REQUIRED_KEYS = {"id": str, "sentence": str, "file": str, "passage": str, "supported": bool, "kind": str}
OPTIONAL_KEYS = {"notes": str}
ID_PATTERN = re.compile(r"sp-\d{3,}")
MIN_PAIRS = 60
MIN_LABEL_SHARE = 0.40
MIN_FILES = 10


def load_pairs() -> list[dict]:
    pairs = []
    for lineno, line in enumerate(DATASET.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"line {lineno}: blank line"
        record = json.loads(line)
        assert isinstance(record, dict), f"line {lineno}: not a JSON object"
        pairs.append(record)
    return pairs


@cache
def corpus_body(rel_path: str) -> str:
    """Body of a corpus file: everything after the closing ``---`` of its front matter."""
    lines = (REPO_ROOT / rel_path).read_text(encoding="utf-8").split("\n")
    assert lines[0] == "---", f"{rel_path}: no front matter"
    end = lines.index("---", 1)
    return "\n".join(lines[end + 1 :])


PAIRS = load_pairs() if DATASET.is_file() else []


def test_dataset_exists_and_is_large_enough() -> None:
    assert DATASET.is_file(), f"missing {DATASET}"
    assert len(PAIRS) >= MIN_PAIRS


def test_records_have_the_expected_fields() -> None:
    for record in PAIRS:
        rid = record.get("id")
        missing = set(REQUIRED_KEYS) - set(record)
        assert not missing, f"{rid}: missing {sorted(missing)}"
        extra = set(record) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS)
        assert not extra, f"{rid}: unexpected keys {sorted(extra)}"
        for key, typ in {**REQUIRED_KEYS, **OPTIONAL_KEYS}.items():
            if key in record:
                assert isinstance(record[key], typ), f"{rid}: {key} should be {typ.__name__}"
        for key in ("sentence", "passage"):
            assert record[key].strip() == record[key] and record[key], f"{rid}: {key} empty or padded"


def test_ids_are_well_formed_and_unique() -> None:
    ids = [record["id"] for record in PAIRS]
    assert all(ID_PATTERN.fullmatch(i) for i in ids), [i for i in ids if not ID_PATTERN.fullmatch(i)]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates, f"duplicate ids: {duplicates}"


def test_both_labels_are_well_represented() -> None:
    labels = Counter(record["supported"] for record in PAIRS)
    for label in (True, False):
        share = labels[label] / len(PAIRS)
        assert share >= MIN_LABEL_SHARE, f"supported={label}: {labels[label]}/{len(PAIRS)} ({share:.0%})"


def test_kinds_are_allowed_and_match_the_label() -> None:
    for record in PAIRS:
        kind = record["kind"]
        assert kind in ALL_KINDS, f"{record['id']}: unknown kind {kind!r}"
        assert record["supported"] == (kind in SUPPORTED_KINDS), f"{record['id']}: kind {kind!r} vs label"


def test_every_kind_is_used() -> None:
    used = {record["kind"] for record in PAIRS}
    assert used == ALL_KINDS, f"unused kinds: {sorted(ALL_KINDS - used)}"


def test_pairs_cover_many_corpus_files() -> None:
    files = {record["file"] for record in PAIRS}
    assert len(files) >= MIN_FILES, sorted(files)


@pytest.mark.parametrize("record", PAIRS, ids=[record.get("id", "?") for record in PAIRS])
def test_passage_is_verbatim_in_its_corpus_file(record: dict) -> None:
    rel = record["file"]
    assert re.fullmatch(r"corpus/[^/]+\.md", rel) and rel != "corpus/README.md", f"not a corpus article: {rel}"
    assert (REPO_ROOT / rel).is_file(), f"missing file {rel}"
    assert record["passage"] in corpus_body(rel), f"{record['id']}: passage not found verbatim in {rel}"


@pytest.mark.parametrize("record", PAIRS, ids=[record.get("id", "?") for record in PAIRS])
def test_sentence_relates_to_passage_as_its_kind_says(record: dict) -> None:
    sentence, passage = record["sentence"], record["passage"]
    if record["kind"] == "verbatim":
        assert sentence in passage, f"{record['id']}: a verbatim sentence must be copied from the passage"
    elif not record["supported"]:
        assert sentence not in passage, f"{record['id']}: an unsupported sentence is copied from its passage"
