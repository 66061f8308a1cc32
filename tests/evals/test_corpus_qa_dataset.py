"""Checks on the gold evaluation set evals/datasets/corpus_qa.jsonl: schema, type mix, and verbatim evidence."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASET = REPO_ROOT / "evals" / "datasets" / "corpus_qa.jsonl"
CORPUS_DIR = REPO_ROOT / "corpus"

TYPES = {"factual", "date", "stance", "status", "comparison", "conflict", "unanswerable"}
REQUIRED_FIELDS = {"id": str, "question": str, "type": str, "answer": str, "key_facts": list, "evidence": list}
OPTIONAL_FIELDS = {"notes": str}
UNANSWERABLE_ANSWER = "The corpus does not say."
MIN_ITEMS = 50
MIN_PER_TYPE = 4


def raw_lines() -> list[tuple[int, str]]:
    lines = DATASET.read_text(encoding="utf-8").splitlines()
    return [(number, line) for number, line in enumerate(lines, 1) if line.strip()]


@cache
def items() -> list[dict[str, Any]]:
    return [json.loads(line) for _, line in raw_lines()]


def item_id(item: dict[str, Any]) -> str:
    return str(item.get("id"))


@cache
def corpus_body(relative_path: str) -> str:
    """The text of a corpus file after its YAML front matter (between the first two ``---`` lines)."""
    lines = (REPO_ROOT / relative_path).read_text(encoding="utf-8").split("\n")
    assert lines[0] == "---", f"{relative_path}: a corpus file must start with a '---' line"
    end = lines.index("---", 1)
    return "\n".join(lines[end + 1 :])


def answerable() -> list[dict[str, Any]]:
    return [item for item in items() if item["type"] != "unanswerable"]


def evidence_params() -> list[Any]:
    return [
        pytest.param(item["id"], ev, id=f"{item['id']}-e{n}")
        for item in answerable()
        for n, ev in enumerate(item["evidence"], 1)
    ]


def test_dataset_exists() -> None:
    assert DATASET.is_file(), f"missing {DATASET}"


def test_every_line_parses_as_a_json_object() -> None:
    for number, line in raw_lines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - only on a broken file
            pytest.fail(f"line {number} is not valid JSON: {exc}")
        assert isinstance(value, dict), f"line {number} is not a JSON object"


def test_ids_are_unique() -> None:
    counts = Counter(item_id(item) for item in items())
    duplicates = sorted(key for key, count in counts.items() if count > 1)
    assert not duplicates, f"duplicate ids: {duplicates}"


@pytest.mark.parametrize("item", items(), ids=item_id)
def test_required_fields_and_types(item: dict[str, Any]) -> None:
    for field, kind in REQUIRED_FIELDS.items():
        assert field in item, f"missing field {field!r}"
        assert isinstance(item[field], kind), f"{field!r} must be a {kind.__name__}"
    for field, kind in OPTIONAL_FIELDS.items():
        if field in item:
            assert isinstance(item[field], kind), f"{field!r} must be a {kind.__name__}"
    unknown = set(item) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS)
    assert not unknown, f"unknown fields: {sorted(unknown)}"
    assert item["question"].strip() and item["answer"].strip()
    assert item["type"] in TYPES, f"type {item['type']!r} is not one of {sorted(TYPES)}"
    assert all(isinstance(fact, str) and fact.strip() for fact in item["key_facts"])
    for ev in item["evidence"]:
        assert isinstance(ev, dict) and set(ev) == {"file", "quote"}, f"bad evidence entry: {ev!r}"
        assert isinstance(ev["file"], str) and isinstance(ev["quote"], str) and ev["quote"].strip()


def test_enough_questions_of_every_type() -> None:
    assert len(items()) >= MIN_ITEMS
    counts = Counter(item["type"] for item in items())
    too_few = {kind: counts.get(kind, 0) for kind in TYPES if counts.get(kind, 0) < MIN_PER_TYPE}
    assert not too_few, f"types with fewer than {MIN_PER_TYPE} questions: {too_few}"


@pytest.mark.parametrize("item", items(), ids=item_id)
def test_evidence_presence_matches_type(item: dict[str, Any]) -> None:
    if item["type"] == "unanswerable":
        assert item["evidence"] == [], "unanswerable items must cite no evidence"
        assert item["key_facts"] == [], "unanswerable items have no key facts"
        assert item["answer"] == UNANSWERABLE_ANSWER
    else:
        assert item["evidence"], "answerable items must cite at least one quote"
        assert item["key_facts"], "answerable items must list key facts"


@pytest.mark.parametrize("item", [i for i in items() if i["type"] == "comparison"], ids=item_id)
def test_comparison_items_cite_at_least_two_files(item: dict[str, Any]) -> None:
    files = {ev["file"] for ev in item["evidence"]}
    assert len(files) >= 2, f"comparison cites only {sorted(files)}"


@pytest.mark.parametrize(("qid", "ev"), evidence_params())
def test_evidence_file_exists_in_corpus(qid: str, ev: dict[str, Any]) -> None:
    path = REPO_ROOT / ev["file"]
    assert not Path(ev["file"]).is_absolute(), f"{qid}: use a path relative to the repo root"
    assert path.resolve().parent == CORPUS_DIR.resolve(), f"{qid}: {ev['file']} is not in corpus/"
    assert path.name != "README.md", f"{qid}: corpus/README.md is not an article"
    assert path.is_file(), f"{qid}: {ev['file']} does not exist"


@pytest.mark.parametrize(("qid", "ev"), evidence_params())
def test_quote_occurs_verbatim_in_file_body(qid: str, ev: dict[str, Any]) -> None:
    if not (REPO_ROOT / ev["file"]).is_file():
        pytest.skip("missing file is reported by test_evidence_file_exists_in_corpus")
    assert ev["quote"] in corpus_body(ev["file"]), f"{qid}: quote not found verbatim in {ev['file']}: {ev['quote']!r}"


@pytest.mark.parametrize("item", answerable(), ids=item_id)
def test_key_facts_appear_in_gold_answer(item: dict[str, Any]) -> None:
    answer = item["answer"].casefold()
    missing = [fact for fact in item["key_facts"] if fact.casefold() not in answer]
    assert not missing, f"key facts missing from the gold answer: {missing}"
