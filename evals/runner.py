"""Run an evaluation suite: retrieve, answer and score every question, ours and the tutorial baseline's.

``run_suite(settings, suite, ...)`` returns a ``SuiteRun``; ``evals.report`` writes it as results.json, report.md
and PNG plots. Stores for each suite live under ``<data dir>/evals/stores`` and are synced incrementally, so a rerun
embeds nothing new.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from assistant.citations import resolve_citations
from assistant.config import Settings
from assistant.embedding import Embedder, embedder_options
from assistant.models import Answer, Evidence, Timings
from assistant.service import Assistant, build_assistant
from assistant.support import LexicalSemanticJudge, LLMJudge, SupportJudge
from evals.baseline import LangChainTutorialBaseline
from evals.datasets import CORPUS_QA, SUPPORT_PAIRS, QAItem, load_bench, load_corpus_qa
from evals.metrics.answers import flags_conflict, key_fact_recall, percentile, precision_recall, token_f1
from evals.metrics.citations import citation_scores
from evals.metrics.judge import JudgeAccuracy, judge_accuracy
from evals.metrics.retrieval import hit_at_k, mrr_at_k, ndcg_at_k, paired_bootstrap_ci, recall_at_k
from ingest.loaders import discover_files, load_article
from ingest.pipeline import build_ingest_pipeline

K_VALUES = (1, 3, 5, 10)
SUITES = ("corpus", "msmarco", "asqa")
DEFAULT_RETRIEVER = "hybrid-adaptive"  # the name `eval --retrievers` gives the configured default
MMR_WEIGHT = 0.7  # relevance's weight in the MMR row (λ): the best of 0.6-0.9 on ASQA, none beat the cap on corpus_qa


@dataclass
class QuestionResult:
    """Everything about one question, for results.json and the worst-questions table."""

    id: str
    question: str
    type: str
    gold: str
    retrieved: list[str]
    relevant: list[bool]
    answer: str
    abstained: bool
    citations: list[dict[str, Any]]
    scores: dict[str, float | None]
    latency_ms: float
    first_token_ms: float | None = None


@dataclass
class SystemRun:
    """One system (ours or the baseline) over the suite."""

    name: str
    backend: str
    results: list[QuestionResult] = field(default_factory=list)
    summary: dict[str, float] = field(default_factory=dict)
    by_type: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class SuiteRun:
    suite: str
    started: str
    judge: str
    judge_accuracy: dict[str, Any] | None
    systems: list[SystemRun]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_judge(settings: Settings, embedder: Embedder, kind: str) -> SupportJudge:
    """``offline`` (default) or ``llm`` (needs PEACETALKS_LLM_* settings)."""
    if kind == "llm":
        if not settings.llm_configured:
            raise ValueError("--judge llm needs PEACETALKS_LLM_BASE_URL and PEACETALKS_LLM_MODEL")
        from assistant.answering.llm import make_chat_model

        return LLMJudge(make_chat_model(settings), name=f"llm-judge:{settings.llm_model}")
    return LexicalSemanticJudge(embedder)


def _score_answer(item: QAItem, answer: Answer, judge: SupportJudge) -> dict[str, float | None]:
    scores: dict[str, float | None] = {}
    answerable = item.answerable
    scores["abstained"] = float(answer.abstained)
    scores["f1"] = max((token_f1(answer.text, g) for g in item.answers), default=0.0) if answerable else None
    if item.type == "bench":
        norm = answer.text.lower()
        scores["key_facts"] = float(any(a.lower() in norm for a in item.answers if len(a) < 80)) if answerable else None
    else:
        scores["key_facts"] = key_fact_recall(answer.text, item.key_facts) if answerable else None
    cit = citation_scores(answer, judge)
    scores["citation_recall"] = cit.recall if cit else None
    scores["citation_precision"] = cit.precision if cit else None
    scores["faithfulness"] = cit.faithfulness if cit else None
    # What the product's own citation verification said about the answer (None when it abstained or was off).
    scores["groundedness"] = answer.groundedness
    if item.type == "conflict":
        scores["conflict_flagged"] = float(flags_conflict(answer.text, len({c.article_id for c in answer.citations})))
    return scores


def _retrieval_scores(item: QAItem, evidence: list[Evidence]) -> tuple[list[bool], dict[str, float | None]]:
    covered = [item.covers(ev.chunk) for ev in evidence]
    # A gold item counts once, at the first rank that covers it: several chunks of one long gold passage must not
    # push nDCG past 1 or count as several hits.
    relevant: list[bool] = []
    seen: set[str] = set()
    for items in covered:
        relevant.append(bool(items - seen))
        seen |= items
    gold = item.gold
    if not item.answerable or not gold:
        return relevant, {}
    scores: dict[str, float | None] = {}
    for k in K_VALUES:
        scores[f"recall@{k}"] = recall_at_k(covered, gold, k)
        scores[f"hit@{k}"] = hit_at_k(relevant, k)
    scores["mrr@10"] = mrr_at_k(relevant, 10)
    scores["ndcg@10"] = ndcg_at_k(relevant, len(gold), 10)
    return relevant, scores


def _summarise(system: SystemRun, items: list[QAItem]) -> None:
    """Means over the questions where each metric applies, plus abstention P/R and latency percentiles."""
    keys = sorted({k for r in system.results for k in r.scores})
    for key in keys:
        values = [r.scores[key] for r in system.results if r.scores.get(key) is not None]
        if values:
            system.summary[key] = sum(v for v in values if v is not None) / len(values)
    gold_unanswerable = [not i.answerable for i in items]
    if any(gold_unanswerable):
        p, r = precision_recall([res.abstained for res in system.results], gold_unanswerable)
        system.summary["abstention_precision"], system.summary["abstention_recall"] = p, r
    latencies = [r.latency_ms for r in system.results]
    system.summary["latency_p50_ms"] = percentile(latencies, 50)
    system.summary["latency_p95_ms"] = percentile(latencies, 95)
    firsts = [r.first_token_ms for r in system.results if r.first_token_ms is not None]
    if firsts:
        system.summary["first_token_p50_ms"] = percentile(firsts, 50)
    for qtype in sorted({r.type for r in system.results}):
        rows = [r for r in system.results if r.type == qtype]
        system.by_type[qtype] = {"n": float(len(rows))}
        for key in ("recall@5", "f1", "key_facts", "citation_recall", "abstained"):
            values = [r.scores[key] for r in rows if r.scores.get(key) is not None]
            if values:
                system.by_type[qtype][key] = sum(v for v in values if v is not None) / len(values)


def _result(item: QAItem, evidence: list[Evidence], answer: Answer, judge: SupportJudge, latency: float,
            first_token: float | None) -> QuestionResult:  # fmt: skip
    relevant, scores = _retrieval_scores(item, evidence)
    scores.update(_score_answer(item, answer, judge))
    return QuestionResult(
        id=item.id,
        question=item.question,
        type=item.type,
        gold=item.answers[0] if item.answers else "",
        retrieved=[ev.chunk.article_id for ev in evidence],
        relevant=relevant,
        answer=answer.text,
        abstained=answer.abstained,
        citations=[{"n": c.number, "article": c.article_id, "quote": c.quote} for c in answer.citations],
        scores=scores,
        latency_ms=latency,
        first_token_ms=first_token,
    )


def _load_suite(settings: Settings, suite: str, shared_dir: Path | None) -> tuple[list[Any], list[QAItem], str]:
    """Articles to ingest, questions, and the root name articles are synced under."""
    if suite == "corpus":
        sources, errors = discover_files([settings.corpus_dir])
        if errors:
            raise RuntimeError("; ".join(str(e) for e in errors))
        return [load_article(s) for s in sources], load_corpus_qa(CORPUS_QA), str(settings.corpus_dir.resolve())
    articles, items = load_bench(suite, shared_dir)
    return articles, items, f"bench:{suite}"


def run_suite(
    settings: Settings,
    suite: str,
    *,
    limit: int | None = None,
    judge_kind: str = "offline",
    with_baseline: bool = True,
    shared_dir: Path | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> SuiteRun:
    """Evaluate our assistant (its configured backend) and the tutorial baseline on one suite."""
    embedder = embedder or Embedder(
        settings.embedding_model_path, settings.embedding_batch_size, **embedder_options(settings)
    )
    articles, items, root = _load_suite(settings, suite, shared_dir)
    if limit:
        items = items[:limit]
    stores = settings.data_dir / "evals" / "stores"
    suite_settings = settings.model_copy(update={"data_dir": stores / suite})
    assistant = build_assistant(suite_settings, embedder=embedder)
    report = build_ingest_pipeline(suite_settings, assistant.store, show_progress=progress).run_articles(articles, root)
    if not report.ok:
        raise RuntimeError(f"ingest of suite {suite} failed: {report.errors[:3]}")

    judge = make_judge(settings, embedder, judge_kind)
    accuracy: JudgeAccuracy | None = judge_accuracy(judge, SUPPORT_PAIRS) if SUPPORT_PAIRS.is_file() else None
    run = SuiteRun(
        suite=suite,
        started=time.strftime("%Y-%m-%dT%H:%M:%S"),
        judge=judge.name,
        judge_accuracy=asdict(accuracy) if accuracy else None,
        systems=[],
    )
    ours = SystemRun(name="peacetalks", backend=assistant.answerer.name)
    for item in tqdm(items, desc=f"{suite}: peacetalks", disable=not progress, unit="q"):
        ours.results.append(_ask(assistant, item, judge))
    _summarise(ours, items)
    run.systems.append(ours)

    if with_baseline:
        baseline = LangChainTutorialBaseline(embedder, stores / f"{suite}-baseline", articles)
        theirs = SystemRun(name=baseline.name, backend="extractive")
        for item in tqdm(items, desc=f"{suite}: baseline", disable=not progress, unit="q"):
            theirs.results.append(_ask_baseline(assistant, baseline, item, judge))
        _summarise(theirs, items)
        run.systems.append(theirs)
    return run


def _ask(assistant: Assistant, item: QAItem, judge: SupportJudge) -> QuestionResult:
    started = time.perf_counter()
    first: float | None = None
    answer: Answer | None = None
    for piece in assistant.stream(item.question):
        if isinstance(piece, Answer):
            answer = piece
        elif first is None:
            first = (time.perf_counter() - started) * 1000
    latency = (time.perf_counter() - started) * 1000
    assert answer is not None
    # Retrieval metrics look deeper than the answer does (k up to 10), with the same query.
    evidence = assistant.retriever.run(answer.retrieval_query or item.question, k=max(K_VALUES))
    return _result(item, evidence, answer, judge, latency, first)


def _ask_baseline(
    assistant: Assistant, baseline: LangChainTutorialBaseline, item: QAItem, judge: SupportJudge
) -> QuestionResult:
    started = time.perf_counter()
    evidence = baseline.retrieve(item.question)
    draft = assistant.fallback.run(item.question, evidence)
    resolved = resolve_citations(draft, evidence)
    latency = (time.perf_counter() - started) * 1000
    answer = Answer(
        question=item.question,
        text=resolved.text,
        citations=resolved.citations,
        evidence=evidence,
        abstained=resolved.abstained,
        backend="extractive",
        timings=Timings(total_ms=latency),
    )
    return _result(item, evidence, answer, judge, latency, None)


def compare_retrievers(
    settings: Settings,
    suite: str,
    *,
    limit: int | None = None,
    shared_dir: Path | None = None,
    embedder: Embedder | None = None,
    progress: bool = True,
) -> dict[str, dict[str, float]]:
    """Retrieval only, one run: dense, keyword (BM25), hybrid fused adaptively (the default), by RRF and by a
    weighted sum, the default with MMR instead of the per-article cap, and the LangChain tutorial baseline.

    Returns {system: {"recall@5", "mrr@10", "ndcg@10", "latency_p50_ms", "latency_p95_ms"}} over the answerable
    questions, every system on the same store and questions; each system but the default also gets the 95 %
    paired-bootstrap interval of (default − system) for recall@5 and MRR@10 (``default_minus_mrr@10_ci_low`` ...).
    """
    from assistant.retrieval import Retriever

    embedder = embedder or Embedder(
        settings.embedding_model_path, settings.embedding_batch_size, **embedder_options(settings)
    )
    articles, items, root = _load_suite(settings, suite, shared_dir)
    # Only questions with gold passages can score a retriever (MS MARCO has answerable questions without any).
    items = [i for i in items if i.answerable and i.gold][: limit or None]
    stores = settings.data_dir / "evals" / "stores"
    suite_settings = settings.model_copy(update={"data_dir": stores / suite})
    assistant = build_assistant(suite_settings, embedder=embedder)
    build_ingest_pipeline(suite_settings, assistant.store, show_progress=progress).run_articles(articles, root)
    baseline = LangChainTutorialBaseline(embedder, stores / f"{suite}-baseline", articles)

    # the product's own: adaptive fusion plus the date handling of status questions (recency, newest slots)
    default: dict[str, Any] = {
        "mode": "hybrid",
        "fusion": "adaptive",
        "recency_weight": settings.recency_weight,
        "recent_slots": settings.recent_slots,
        "recent_margin": settings.recent_margin,
        "answer_k": settings.top_k,
    }
    variants: dict[str, dict[str, Any]] = {
        "dense": {"mode": "dense"},
        "keyword": {"mode": "keyword"},
        DEFAULT_RETRIEVER: default,
        "hybrid-rrf": {"mode": "hybrid", "fusion": "rrf"},
        f"hybrid-weighted-{settings.fusion_alpha}": {
            "mode": "hybrid",
            "fusion": "weighted",
            "fusion_alpha": settings.fusion_alpha,
        },
        # the default with maximal marginal relevance in place of the per-article cap (the other way to diversify)
        f"hybrid-mmr-{MMR_WEIGHT}": {**default, "diversity": "mmr", "mmr_weight": MMR_WEIGHT},
    }
    systems: dict[str, Any] = {
        name: Retriever(
            assistant.store,
            embedder,
            candidates=settings.retrieval_candidates,
            max_per_article=settings.max_passages_per_article,
            **options,
        ).run
        for name, options in variants.items()
    }
    systems[baseline.name] = lambda q, k, filters=None: baseline.retrieve(q, k=4)
    table: dict[str, dict[str, float]] = {}
    per_question: dict[str, dict[str, list[float]]] = {}
    for name, retrieve in systems.items():
        rows: list[dict[str, float | None]] = []
        latencies = []
        for item in tqdm(items, desc=f"{suite}: {name}", disable=not progress, unit="q"):
            started = time.perf_counter()
            evidence = retrieve(item.question, 10)
            latencies.append((time.perf_counter() - started) * 1000)
            rows.append(_retrieval_scores(item, evidence)[1])
        per_question[name] = {key: [r[key] or 0.0 for r in rows] for key in ("recall@5", "mrr@10", "ndcg@10")}
        table[name] = {key: sum(values) / len(values) for key, values in per_question[name].items()}
        table[name]["latency_p50_ms"] = percentile(latencies, 50)
        table[name]["latency_p95_ms"] = percentile(latencies, 95)
    # How sure is "the default beats X"? Paired bootstrap over these questions (evals.metrics.retrieval).
    for name in table:
        if name == DEFAULT_RETRIEVER:
            continue
        for key in ("recall@5", "mrr@10"):
            _, low, high = paired_bootstrap_ci(per_question[DEFAULT_RETRIEVER][key], per_question[name][key])
            table[name][f"default_minus_{key}_ci_low"] = low
            table[name][f"default_minus_{key}_ci_high"] = high
    return table
