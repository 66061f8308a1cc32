"""Calibrate the extractive answerer's abstention thresholds on corpus_qa.

    python -m evals.calibrate_abstention                 # the configured embedding backend
    PEACETALKS_EMBEDDING_BACKEND=torch python -m evals.calibrate_abstention

Retrieves each question's evidence once (the configured retriever and top_k over the data dir's store, which must
hold the bundled corpus), then answers it under every pair of (min_passage_score, min_sentence_score) on a grid
and prints abstention precision and recall for each: how many unanswerable questions got "the corpus does not say"
and how many answerable ones were refused. The thresholds in ``Settings`` are chosen from this table; the choice
favours not refusing answerable questions (a refusal hides an answer the corpus has; a wrong answer is at least
marked by its citations).
"""

from __future__ import annotations

import argparse
import itertools

from assistant.answering.extractive import ExtractiveAnswerer
from assistant.config import Settings
from assistant.service import build_assistant
from evals.datasets import load_corpus_qa
from evals.metrics.answers import precision_recall

PASSAGE_GRID = (0.25, 0.30, 0.35, 0.40)
SENTENCE_GRID = (0.35, 0.40, 0.45, 0.50)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.calibrate_abstention", description=__doc__.split("\n")[0])
    parser.parse_args(argv)
    settings = Settings()
    assistant = build_assistant(settings)
    items = load_corpus_qa()
    evidence = [assistant.retriever.run(item.question, k=settings.top_k) for item in items]
    gold = [item.type == "unanswerable" for item in items]
    print(f"backend {settings.embedding_backend}; {sum(gold)} unanswerable of {len(items)} questions")
    print(f"{'passage':>8} {'sentence':>8} {'precision':>9} {'recall':>6} {'refused':>7} {'answered':>8}")
    for passage, sentence in itertools.product(PASSAGE_GRID, SENTENCE_GRID):
        answerer = ExtractiveAnswerer(
            assistant.retriever.embedder,
            min_passage_score=passage,
            min_sentence_score=sentence,
            max_sentences=settings.max_answer_sentences,
            vocabulary=assistant.store.vocabulary,
        )
        abstained = [answerer.run(item.question, ev).abstained for item, ev in zip(items, evidence, strict=True)]
        precision, recall = precision_recall(abstained, gold)
        refused = sum(1 for a, g in zip(abstained, gold, strict=True) if a and not g)
        answered = sum(1 for a, g in zip(abstained, gold, strict=True) if g and not a)
        configured = (passage, sentence) == (settings.min_passage_score, settings.min_sentence_score)
        marker = "  <- configured" if configured else ""
        print(f"{passage:>8.2f} {sentence:>8.2f} {precision:>9.3f} {recall:>6.3f} {refused:>7} {answered:>8}{marker}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
