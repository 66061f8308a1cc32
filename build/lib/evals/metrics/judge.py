"""Validation of a support judge on labelled (sentence, passage, supported?) pairs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.support import SupportJudge


@dataclass(frozen=True)
class JudgeAccuracy:
    judge: str
    n: int
    accuracy: float
    precision: float  # of "supported" verdicts
    recall: float  # of truly supported pairs

    def describe(self) -> str:
        return (
            f"{self.judge}: accuracy {self.accuracy:.3f} on {self.n} labelled pairs "
            f"(precision {self.precision:.3f}, recall {self.recall:.3f} of 'supported')"
        )


def judge_accuracy(judge: SupportJudge, pairs_path: Path) -> JudgeAccuracy:
    """Accuracy = share of pairs where the verdict equals the label; precision/recall of the 'supported' class."""
    rows = [json.loads(line) for line in pairs_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    verdicts = [judge.judge(r["sentence"], [r["passage"]]).supported for r in rows]
    labels = [bool(r["supported"]) for r in rows]
    tp = sum(v and g for v, g in zip(verdicts, labels, strict=True))
    correct = sum(v == g for v, g in zip(verdicts, labels, strict=True))
    return JudgeAccuracy(
        judge=judge.name,
        n=len(rows),
        accuracy=correct / len(rows) if rows else 0.0,
        precision=tp / sum(verdicts) if any(verdicts) else 0.0,
        recall=tp / sum(labels) if any(labels) else 0.0,
    )
