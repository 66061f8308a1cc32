"""Question sets with gold answers and gold evidence: the team's corpus_qa and BEIR-like public samples.

Every set becomes a list of ``QAItem`` plus, for public samples, the passages to ingest. Relevance of a retrieved
chunk is decided by the item: for corpus_qa a chunk is relevant when it contains a gold quote; for BEIR-like sets
when its article id is a gold passage id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from assistant.models import Article, ArticleMetadata, Chunk

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_QA = REPO_ROOT / "evals" / "datasets" / "corpus_qa.jsonl"
SUPPORT_PAIRS = REPO_ROOT / "evals" / "datasets" / "support_pairs.jsonl"
BENCH_SUITES = {"msmarco": "autorag_msmarco_sample", "asqa": "autorag_asqa_sample"}


class DatasetMissing(RuntimeError):
    """A dataset folder is absent (e.g. ../shared/bench on a machine without it): the suite is skipped, loudly."""


@dataclass(frozen=True)
class GoldQuote:
    file: str  # repo-relative path, e.g. corpus/02_....md
    quote: str


@dataclass
class QAItem:
    """One question with what a good answer and good evidence look like."""

    id: str
    question: str
    type: str
    answers: list[str]
    key_facts: list[str] = field(default_factory=list)
    quotes: list[GoldQuote] = field(default_factory=list)
    gold_ids: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"

    @property
    def gold(self) -> set[str]:
        """Keys of the gold items: quote indexes for corpus_qa, passage ids for BEIR-like sets."""
        return {f"q{i}" for i in range(len(self.quotes))} if self.quotes else set(self.gold_ids)

    def covers(self, chunk: Chunk) -> set[str]:
        """The gold items a retrieved chunk contains (a chunk is relevant when this is not empty)."""
        if self.quotes:
            text = _norm(chunk.text)
            return {f"q{i}" for i, q in enumerate(self.quotes) if chunk.article_id == q.file and _norm(q.quote) in text}
        return {chunk.article_id} & set(self.gold_ids)

    def relevant(self, chunk: Chunk) -> bool:
        return bool(self.covers(chunk))


def _norm(text: str) -> str:
    return " ".join(text.split())


def load_corpus_qa(path: Path = CORPUS_QA) -> list[QAItem]:
    """The team's questions over the bundled corpus (see evals/datasets/README.md)."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        items.append(
            QAItem(
                id=row["id"],
                question=row["question"],
                type=row["type"],
                answers=[row["answer"]],
                key_facts=list(row.get("key_facts", [])),
                quotes=[GoldQuote(e["file"], e["quote"]) for e in row.get("evidence", [])],
            )
        )
    return items


def bench_root(shared_dir: Path | None = None) -> Path:
    """``../shared/bench`` beside the repository (or under an explicit shared dir)."""
    return (shared_dir or REPO_ROOT.parent / "shared") / "bench"


def load_bench(suite: str, shared_dir: Path | None = None) -> tuple[list[Article], list[QAItem]]:
    """A BEIR-like sample: ``corpus.jsonl`` {id, text} and ``qa.jsonl`` {id, question, answers[], gold_passage_ids[]}.

    Each passage becomes an Article whose id is ``<suite>/<passage id>``, so gold ids compare directly.
    """
    folder = bench_root(shared_dir) / BENCH_SUITES.get(suite, suite)
    if not (folder / "corpus.jsonl").is_file() or not (folder / "qa.jsonl").is_file():
        raise DatasetMissing(f"benchmark sample '{suite}' not found at {folder} (corpus.jsonl and qa.jsonl)")
    articles = []
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        text = str(row["text"]).strip()
        if not text:
            continue
        article_id = f"{suite}/{row['id']}"
        articles.append(
            Article(
                article_id=article_id,
                path=str(folder / "corpus.jsonl") + f"#{row['id']}",
                text=text,
                metadata=ArticleMetadata(title=str(row.get("title") or row["id"]), publisher=suite),
                content_sha256=hashlib.sha256(text.encode()).hexdigest(),
            )
        )
    items = []
    for line in (folder / "qa.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        items.append(
            QAItem(
                id=str(row["id"]),
                question=str(row["question"]),
                type="bench",
                answers=[str(a) for a in row.get("answers", [])],
                gold_ids=[f"{suite}/{g}" for g in row.get("gold_passage_ids", [])],
            )
        )
    return articles, items
