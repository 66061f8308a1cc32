"""Write a suite run to a run directory: results.json, report.md and PNG plots; compare two runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from evals.runner import K_VALUES, SuiteRun

HEADLINE = [
    "recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10",
    "f1", "key_facts", "citation_recall", "citation_precision", "faithfulness",
    "abstention_precision", "abstention_recall", "conflict_flagged", "latency_p50_ms", "latency_p95_ms",
    "first_token_p50_ms",
]  # fmt: skip
LOWER_IS_BETTER = {"latency_p50_ms", "latency_p95_ms", "first_token_p50_ms", "abstained"}


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.0f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def write_run(run: SuiteRun, out_dir: Path) -> Path:
    """Write everything about a run into ``out_dir``; returns the report path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(run.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    _plots(run, out_dir)
    report = out_dir / "report.md"
    report.write_text(render_markdown(run), encoding="utf-8")
    return report


def render_markdown(run: SuiteRun) -> str:
    systems = run.systems
    lines = [f"# Evaluation: {run.suite}", "", f"Run {run.started}. Support judge: **{run.judge}**."]
    if run.judge_accuracy:
        acc = run.judge_accuracy
        lines.append(
            f"Judge accuracy on {acc['n']} labelled pairs: **{acc['accuracy']:.3f}** "
            f"(precision {acc['precision']:.3f}, recall {acc['recall']:.3f} of 'supported')."
        )
    n = len(systems[0].results) if systems else 0
    lines += ["", f"{n} questions.", "", "| metric | " + " | ".join(f"{s.name} ({s.backend})" for s in systems) + " |"]
    lines.append("|---|" + "---|" * len(systems))
    for key in HEADLINE:
        if any(key in s.summary for s in systems):
            lines.append(f"| {key} | " + " | ".join(_fmt(s.summary.get(key)) for s in systems) + " |")
    lines += ["", "![recall@k](recall_at_k.png) ![per type](per_type.png) ![latency](latency.png)", ""]
    for system in systems[:1]:
        if len(system.by_type) > 1:
            cols = ["n", "recall@5", "f1", "key_facts", "citation_recall", "abstained"]
            lines += [f"## {system.name} by question type", "", "| type | " + " | ".join(cols) + " |"]
            lines.append("|---|" + "---|" * len(cols))
            for qtype, vals in system.by_type.items():
                lines.append(f"| {qtype} | " + " | ".join(_fmt(vals.get(c)) for c in cols) + " |")
            lines.append("")
        lines += [f"## Worst 10 questions ({system.name})", ""]
        for r in sorted(system.results, key=_badness)[:10]:
            lines.append(f"### {r.id} ({r.type}): {r.question}")
            lines.append(f"- gold: {r.gold[:300]}")
            lines.append(f"- answer: {r.answer[:500]}")
            shown = {k: _fmt(v) for k, v in r.scores.items() if k in ("recall@5", "f1", "key_facts", "citation_recall")}
            lines.append(f"- scores: {shown}")
            lines.append(f"- retrieved: {', '.join(r.retrieved[:5])}")
            for c in r.citations:
                lines.append(f"  - [{c['n']}] {c['article']}: “{c['quote'][:200]}”")
            lines.append("")
    return "\n".join(lines) + "\n"


def _badness(result: Any) -> tuple[float, float]:
    s = result.scores
    if result.type == "unanswerable":
        return (0.0 if not result.abstained else 2.0, 0.0)
    return (
        (s.get("key_facts") or 0.0) + (s.get("recall@5") or 0.0) + (0.0 if result.abstained else 0.5),
        s.get("f1") or 0.0,
    )


def _plots(run: SuiteRun, out_dir: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for system in run.systems:
        ys = [system.summary.get(f"recall@{k}", 0.0) for k in K_VALUES]
        ax.plot(K_VALUES, ys, marker="o", label=system.name)
    ax.set(xlabel="k", ylabel="recall@k", ylim=(0, 1.02), title=f"{run.suite}: recall@k")
    ax.set_xticks(K_VALUES)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "recall_at_k.png", dpi=110)
    plt.close(fig)

    system = run.systems[0]
    types = list(system.by_type)
    metrics = ["recall@5", "key_facts", "citation_recall"]
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(types) + 2), 3.5))
    width = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        xs = [t + i * width for t in range(len(types))]
        ax.bar(xs, [system.by_type[t].get(metric, 0.0) for t in types], width=width, label=metric)
    ax.set_xticks([t + width for t in range(len(types))], types, rotation=20)
    ax.set(ylim=(0, 1.05), title=f"{run.suite}: {system.name} by question type")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "per_type.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for s in run.systems:
        ax.hist([r.latency_ms for r in s.results], bins=30, alpha=0.6, label=s.name)
    ax.set(xlabel="latency per question (ms)", ylabel="questions", title=f"{run.suite}: latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "latency.png", dpi=110)
    plt.close(fig)


def compare_runs(run_a: Path, run_b: Path, tolerance: float = 0.02) -> tuple[str, list[str]]:
    """Side-by-side table of A and B (ours, first system) with deltas; returns (table, regressions).

    A regression is a quality metric that drops by more than ``tolerance`` (absolute), or a latency that grows by
    more than 50% — the gate CI and users run before accepting a change.
    """
    a, b = (_summary(run_a), _summary(run_b))
    lines = [f"| metric | A: {run_a.name} | B: {run_b.name} | delta |", "|---|---|---|---|"]
    regressions = []
    for key in [k for k in HEADLINE if k in a or k in b]:
        va, vb = a.get(key), b.get(key)
        delta = (vb - va) if va is not None and vb is not None else None
        lines.append(f"| {key} | {_fmt(va)} | {_fmt(vb)} | {_fmt(delta) if delta is not None else '–'} |")
        if delta is None or va is None:
            continue
        if key in LOWER_IS_BETTER:
            if va > 0 and delta / va > 0.5:
                regressions.append(f"{key} grew {delta:+.0f} ms ({delta / va:+.0%})")
        elif delta < -tolerance:
            regressions.append(f"{key} dropped {delta:+.3f} (tolerance {tolerance})")
    return "\n".join(lines), regressions


def _summary(run_dir: Path) -> dict[str, float]:
    data = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return dict(data["systems"][0]["summary"])
