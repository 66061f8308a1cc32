"""BEIR-like loaders (on a tiny set written here), the missing-dataset path, and the offline support judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import Embedder
from assistant.support import LexicalSemanticJudge
from evals.datasets import SUPPORT_PAIRS, DatasetMissing, load_bench
from evals.metrics.judge import judge_accuracy
from evals.runner import run_suite


def write_bench(shared: Path) -> None:
    folder = shared / "bench" / "autorag_msmarco_sample"
    folder.mkdir(parents=True)
    passages = [
        {"id": "p1", "text": "The Black Sea Grain Initiative was signed in Istanbul on 22 July 2022."},
        {"id": "p2", "text": "Squirrels are scared away by human hair spread around the garden."},
        {"id": "p3", "text": "The Minsk Protocol was signed on 5 September 2014 by the Trilateral Contact Group."},
        {"id": "p4", "text": ""},
    ]
    questions = [
        {"id": "q1", "question": "when was the minsk protocol signed", "answers": ["5 September 2014"],
         "gold_passage_ids": ["p3"]},
        {"id": "q2", "question": "does human hair stop squirrels", "answers": ["Yes"], "gold_passage_ids": ["p2"]},
    ]  # fmt: skip
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(p) for p in passages) + "\n")
    (folder / "qa.jsonl").write_text("\n".join(json.dumps(q) for q in questions) + "\n")


def test_load_bench_maps_ids_and_skips_empty_passages(tmp_path: Path) -> None:
    write_bench(tmp_path)
    articles, items = load_bench("msmarco", tmp_path)
    assert [a.article_id for a in articles] == ["msmarco/p1", "msmarco/p2", "msmarco/p3"]
    assert items[0].gold_ids == ["msmarco/p3"] and items[0].answers == ["5 September 2014"]


def test_missing_bench_is_reported_not_green(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissing, match="not found"):
        load_bench("asqa", tmp_path)


@pytest.mark.slow
def test_run_suite_on_a_beir_like_set(tmp_path: Path, embedder: Embedder) -> None:
    write_bench(tmp_path / "shared")
    settings = Settings(data_dir=tmp_path / "data")
    run = run_suite(settings, "msmarco", shared_dir=tmp_path / "shared", embedder=embedder, progress=False)
    ours, baseline = run.systems
    assert ours.summary["recall@1"] == 1.0 and ours.summary["mrr@10"] == 1.0
    assert baseline.name == "langchain-tutorial" and baseline.summary["recall@1"] == 1.0
    assert ours.results[0].retrieved[0] == "msmarco/p3"


@pytest.fixture(scope="module")
def judge(embedder: Embedder) -> LexicalSemanticJudge:
    return LexicalSemanticJudge(embedder)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sentence", "supported"),
    [
        ("Ukraine said it was ready to accept a 30-day ceasefire proposed by the US.", True),
        ("Ukraine said it was ready to accept a 60-day ceasefire proposed by the US.", False),  # number changed
        ("Russia said it was ready to accept a 30-day ceasefire proposed by the US.", False),  # party swapped
        ("Ukraine accepted a ceasefire in March; 4,000 prisoners were freed.", False),  # invented figure
    ],
)
def test_offline_judge_catches_changed_facts(judge: LexicalSemanticJudge, sentence: str, supported: bool) -> None:
    passage = (
        "Ukraine expressed its readiness to accept the U.S. proposal to enact an immediate, interim 30-day "
        "ceasefire, which can be extended by mutual agreement of the parties."
    )
    verdict = judge.judge(sentence, [passage])
    assert verdict.supported is supported, verdict


@pytest.mark.slow
def test_offline_judge_accuracy_on_labelled_pairs(judge: LexicalSemanticJudge) -> None:
    accuracy = judge_accuracy(judge, SUPPORT_PAIRS)
    assert accuracy.n >= 60
    assert accuracy.accuracy >= 0.80, accuracy.describe()


def test_llm_judge_reads_the_verdict_and_fences_passages() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from assistant.support import LLMJudge

    seen: list[str] = []

    class Recording(FakeListChatModel):
        def invoke(self, messages, *args, **kwargs):  # type: ignore[no-untyped-def,override]
            seen.append(str(messages[-1].content))
            return super().invoke(messages, *args, **kwargs)

    judge = LLMJudge(Recording(responses=["SUPPORTED", "UNSUPPORTED - the passage says 30 days"]))
    assert judge.judge("A 30-day ceasefire [1].", ["Ukraine accepted a 30-day ceasefire."]).supported
    verdict = judge.judge("A 60-day ceasefire [1].", ["Ukraine accepted a 30-day ceasefire."])
    assert not verdict.supported and verdict.judge == "llm-judge"
    assert "<passage>\nUkraine accepted a 30-day ceasefire.\n</passage>" in seen[0]
    assert "[1]" not in seen[0].split("Sentence:")[1]
