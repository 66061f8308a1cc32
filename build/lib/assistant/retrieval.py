"""Find the passages most likely to answer a question: dense similarity and BM25 keywords, fused.

``Retriever.run(query, k, filters) -> [Evidence]``. In ``hybrid`` mode (the default) the dense (Chroma) and
keyword (BM25) candidate lists are merged. The default ``adaptive`` fusion is a weighted sum of z-scored cosine and
BM25 scores, each known for every candidate of either list, with a weight that depends on the question: one that
names something (a capitalised name, a number, a party: ``key_terms``) weighs BM25 equally with dense (α = 0.5),
since names and numbers are where embeddings blur; one that names nothing ("what is the best way to ...") is led
by the dense score (α = 0.8), since BM25 then mostly adds noise. (Reciprocal rank fusion, Cormack et al. 2009, is
kept as ``rrf``: it measured below both.) Then a per-article cap keeps one article from filling every slot when
others also match. (Maximal marginal relevance, Carbonell & Goldstein 1998, is kept as ``diversity="mmr"``: it
measured below the cap on corpus_qa, whose questions often need several passages of one article.) A question
about the latest state ranks newer dated passages up and keeps places among the first five for the newest dated
articles that speak to it (``reserve_recent``). Each Evidence keeps the chunk's cosine similarity to the
query as its ``score`` (keyword-only hits are scored from their stored vectors), so the answerer's relevance
thresholds mean the same thing in every mode.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from assistant.answering.composition import asks_for_newest, is_status_question, mentions, newest_must_mention
from assistant.answering.lexical import key_terms
from assistant.embedding import Embedder
from assistant.models import UNDATED, Chunk, Evidence, published_day
from assistant.store import ChunkStore

RetrievalMode = Literal["hybrid", "dense", "keyword"]
RRF_K = 60
FusionMethod = Literal["adaptive", "rrf", "weighted"]
DiversityMethod = Literal["cap", "mmr"]
# MMR re-orders this many of the fused candidates (further ones keep their order behind them).
MMR_CANDIDATES = 20
# Adaptive fusion's dense weights. Questions that name nothing: on MS MARCO and ASQA (4 % and 11 % of questions name
# something) 0.8 beat 0.5 and 0.65 on recall@5 and MRR. Questions that name something: 0.5 against RRF, recall@5 /
# MRR@10 corpus_qa 0.906 / 0.835 vs 0.906 / 0.790, MS MARCO 0.976 / 0.921 vs 0.976 / 0.920, ASQA 0.950 / 0.892 vs
# 0.948 / 0.889; 0.6 lost corpus recall (0.886). Scored as `peacetalks eval --retrievers` scores, on its stores.
# Chosen with min-max fusion and kept, not re-tuned, for the z-scored complete scores (``weighted_sum_fusion``).
ADAPTIVE_DENSE_ALPHA = 0.8
ADAPTIVE_NAMED_ALPHA = 0.5
_KEYWORD_SEARCH = ThreadPoolExecutor(max_workers=4, thread_name_prefix="peacetalks-bm25")


@dataclass(frozen=True)
class RetrievalFilters:
    """Metadata filters applied inside both indexes: publisher, article, and a published-date range.

    A date range keeps only articles whose date is known to lie inside it; undated articles (the Wikipedia
    snapshots, the seed article) are left out unless ``include_undated`` is set, since nothing says they are in range.
    """

    publisher: str | None = None
    article_id: str | None = None
    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None  # ISO date, inclusive
    include_undated: bool = False

    def _range(self) -> tuple[int, int] | None:
        if not self.date_from and not self.date_to:
            return None
        low = published_day(self.date_from) if self.date_from else 0
        high = published_day(self.date_to) if self.date_to else 99991231
        if (self.date_from and low == UNDATED) or (self.date_to and high == UNDATED):
            raise ValueError(f"dates must be ISO YYYY-MM-DD, got {self.date_from!r} / {self.date_to!r}")
        return low, high

    def to_where(self) -> dict[str, Any] | None:
        """The Chroma ``where`` clause."""
        clauses: list[dict[str, Any]] = []
        if self.publisher:
            clauses.append({"publisher": self.publisher})
        if self.article_id:
            clauses.append({"article_id": self.article_id})
        bounds = self._range()
        if bounds:
            in_range: dict[str, Any] = {
                "$and": [{"published_day": {"$gte": bounds[0]}}, {"published_day": {"$lte": bounds[1]}}]
            }
            clauses.append({"$or": [in_range, {"published_day": UNDATED}]} if self.include_undated else in_range)
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def accepts(self, meta: dict[str, Any]) -> bool:
        """The same filter as a predicate over chunk metadata (for the keyword index)."""
        if self.publisher and meta.get("publisher") != self.publisher:
            return False
        if self.article_id and meta.get("article_id") != self.article_id:
            return False
        bounds = self._range()
        if bounds:
            day = int(meta.get("published_day", UNDATED))
            if day == UNDATED:
                return self.include_undated
            return bounds[0] <= day <= bounds[1]
        return True

    @property
    def active(self) -> bool:
        return self.to_where() is not None


def recency_boost(ids: list[str], scores: dict[str, float], day_of: dict[str, int], weight: float) -> list[str]:
    """Reorder fused candidates for a status question: score + w × recency × (the candidates' score range), recency
    in [0, 1] by date among the dated candidates. Scaled by the range, the boost means the same for z-scores (which
    may be negative) as for scores in [0, 1]. Undated chunks get no boost: nothing says they are current."""
    dated = [day_of[c] for c in ids if day_of[c] != UNDATED]
    if weight <= 0 or len(set(dated)) < 2:
        return ids
    low, high = min(dated), max(dated)
    span = max(scores[c] for c in ids) - min(scores[c] for c in ids)

    def boosted(cid: str) -> float:
        day = day_of[cid]
        recency = 0.0 if day == UNDATED else (day - low) / (high - low)
        return scores[cid] + weight * recency * span

    return sorted(ids, key=boosted, reverse=True)


def reserve_recent(
    ids: list[str],
    day_of: dict[str, int],
    article_of: dict[str, str],
    cosine: dict[str, float],
    top: int,
    slots: int,
    margin: float,
    names_ok: Callable[[str], bool] | None = None,
) -> list[str]:
    """For a status question, make room in the first ``top`` for the newest dated evidence about the question.

    "What is the current status of the talks?" reads closer to undated overviews ("the peace talks are of
    paramount importance ...") than to the dated statement that says where things stand. So the ``slots`` most
    recent dated articles whose best passage is nearly as close to the question as the top passage (cosine within
    ``margin`` of it) and that passes ``names_ok`` (the retriever checks that it mentions the names the question
    asks about) each bring that passage into the first ``top``, in place of the lowest-ranked others; the rest of
    the order is unchanged. Passages of any other date, undated ones included, keep their ranks, so background that
    answers the question is not pushed out wholesale (a large recency boost did that: see ``Settings``).
    """
    if slots <= 0 or not ids:
        return ids
    best = max(cosine.get(cid, 0.0) for cid in ids[:top])
    newest_first = sorted(
        (
            cid
            for cid in ids
            if day_of[cid] != UNDATED and cosine.get(cid, 0.0) >= best - margin and (names_ok is None or names_ok(cid))
        ),
        key=lambda cid: -day_of[cid],  # stable: within one date, fused order
    )
    picked: list[str] = []
    articles: set[str] = set()
    for cid in newest_first:
        if len(picked) == slots:
            break
        if article_of[cid] not in articles:
            articles.add(article_of[cid])
            picked.append(cid)
    chosen = set(picked)
    others = [cid for cid in ids if cid not in chosen]
    keep = max(0, top - len(picked))
    position = {cid: i for i, cid in enumerate(ids)}
    return sorted(others[:keep] + picked, key=position.__getitem__) + others[keep:]


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Merge ranked id lists: each id scores Σ 1/(k + rank) over the lists it appears in (rank from 1)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: pair[1], reverse=True)


def weighted_sum_fusion(dense: dict[str, float], keyword: dict[str, float], alpha: float) -> list[tuple[str, float]]:
    """Merge two complete score maps over the same candidates: alpha × dense + (1 − alpha) × keyword, each turned
    into z-scores over the candidates (how far above the pool's mean, in standard deviations).

    Both maps hold a score for every candidate, from either list (the retriever looks up the cosine of a
    keyword-only hit and the BM25 score of a dense-only one), so a passage that one list ranked 31st is weighed by
    its real score rather than as a zero. A signal that is flat over the pool (no query term in the index) adds
    nothing. Against min-max scores with missing entries as zero, on `peacetalks eval --retrievers`: corpus_qa
    recall@5 / MRR@10 0.949 / 0.863 -> 0.958 / 0.867; MS MARCO 0.976 / 0.919 -> 0.978 / 0.921; ASQA
    0.954 / 0.891 -> 0.952 / 0.884 (paired bootstrap: within noise on both public sets).
    """

    def standardised(scores: dict[str, float]) -> dict[str, float]:
        values = np.fromiter(scores.values(), dtype=np.float64, count=len(scores))
        spread = float(values.std()) if len(values) else 0.0
        if spread <= 1e-12:
            return dict.fromkeys(scores, 0.0)
        mean = float(values.mean())
        return {cid: (s - mean) / spread for cid, s in scores.items()}

    d, k = standardised(dense), standardised(keyword)
    fused = {cid: alpha * d[cid] + (1 - alpha) * k.get(cid, 0.0) for cid in d}
    return sorted(fused.items(), key=lambda pair: pair[1], reverse=True)


def maximal_marginal_relevance(
    ids: list[str], relevance: dict[str, float], vectors: dict[str, np.ndarray], weight: float
) -> list[str]:
    """``ids`` re-ordered greedily by ``weight`` × relevance − (1 − weight) × the highest cosine to a passage
    already picked (Carbonell & Goldstein 1998): a passage that repeats a better one moves down. Relevance is
    min-max scaled over ``ids``; an id without a vector is never counted as a repeat."""
    if not ids:
        return []
    values = np.array([relevance.get(cid, 0.0) for cid in ids], dtype=np.float64)
    spread = float(values.max() - values.min())
    scaled = (values - values.min()) / spread if spread > 0 else np.ones_like(values)
    dimension = next((len(v) for v in vectors.values()), 1)
    matrix = np.stack([vectors.get(cid, np.zeros(dimension, dtype=np.float32)) for cid in ids]).astype(np.float64)
    similarity = matrix @ matrix.T
    redundancy = np.zeros(len(ids))  # the highest similarity to a picked passage so far
    left = list(range(len(ids)))
    order: list[str] = []
    while left:
        best = max(left, key=lambda i: weight * scaled[i] - (1 - weight) * redundancy[i])
        left.remove(best)
        order.append(ids[best])
        redundancy = np.maximum(redundancy, similarity[best])
    return order


def cap_per_article(ids: list[str], article_of: dict[str, str], k: int, cap: int) -> list[str]:
    """The first k ids with at most ``cap`` per article; slots left over are refilled in order (no cap)."""
    picked: list[str] = []
    overflow: list[str] = []
    counts: dict[str, int] = {}
    for cid in ids:
        article = article_of[cid]
        if counts.get(article, 0) < cap:
            picked.append(cid)
            counts[article] = counts.get(article, 0) + 1
        else:
            overflow.append(cid)
        if len(picked) == k:
            return picked
    return picked + overflow[: k - len(picked)]


class Retriever:
    """Dense, keyword or hybrid retrieval over one store."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        mode: RetrievalMode = "hybrid",
        candidates: int = 30,
        max_per_article: int = 3,
        recency_weight: float = 0.0,
        fusion: FusionMethod = "adaptive",
        fusion_alpha: float = 0.5,
        recent_slots: int = 0,
        recent_margin: float = 0.1,
        answer_k: int = 5,
        diversity: DiversityMethod = "cap",
        mmr_weight: float = 0.7,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.mode = mode
        self.candidates = candidates
        self.max_per_article = max_per_article
        self.recency_weight = recency_weight
        self.fusion = fusion
        self.fusion_alpha = fusion_alpha
        self.recent_slots = recent_slots
        self.recent_margin = recent_margin
        self.answer_k = answer_k  # the passages an answer reads: recent ones are brought among them
        self.diversity = diversity
        self.mmr_weight = mmr_weight

    def run(self, query: str, k: int, filters: RetrievalFilters | None = None) -> list[Evidence]:
        filters = filters or RetrievalFilters()
        index = self.store.keyword
        pool = max(self.candidates, k)
        # BM25 runs in another thread while this one embeds the query and searches Chroma (both release the GIL):
        # hybrid costs about the slower of the two instead of their sum (evals/bench.py measures it).
        searching = (
            _KEYWORD_SEARCH.submit(index.search_scored, query, pool, filters.accepts if filters.active else None)
            if self.mode != "dense" and index.ready
            else None
        )
        vector = self.embedder.embed_query(query)
        if searching is None:
            return self.store.query(vector, k=k, where=filters.to_where())
        dense = self.store.query(vector, k=pool, where=filters.to_where()) if self.mode == "hybrid" else []
        keyword = searching.result()
        chunks: dict[str, Chunk] = {e.chunk.chunk_id: e.chunk for e in dense}
        cosine: dict[str, float] = {e.chunk.chunk_id: e.score for e in dense}
        missing = [cid for cid, _ in keyword.top if cid not in chunks]
        if missing:  # keyword-only hits: their cosine from their stored vectors
            found, vectors = self.store.get_chunks_with_vectors(missing)
            for chunk in found:
                chunks[chunk.chunk_id] = chunk
            for cid, vec in vectors.items():
                cosine[cid] = float(np.dot(vec, vector))
        if self.mode == "keyword":
            fused_scores = [(cid, 1.0 / (RRF_K + rank)) for rank, (cid, _) in enumerate(keyword.top, start=1)]
        elif self.fusion == "rrf":
            fused_scores = reciprocal_rank_fusion([[e.chunk.chunk_id for e in dense], [c for c, _ in keyword.top]])
        else:
            alpha = self.fusion_alpha
            if self.fusion == "adaptive":
                alpha = ADAPTIVE_NAMED_ALPHA if key_terms(query) else ADAPTIVE_DENSE_ALPHA
            pool_ids = [cid for cid in chunks if cid in cosine]
            fused_scores = weighted_sum_fusion(
                {cid: cosine[cid] for cid in pool_ids}, {cid: keyword.score_of(cid) for cid in pool_ids}, alpha
            )
        fused = [cid for cid, _ in fused_scores if cid in chunks]
        article_of = {cid: chunks[cid].article_id for cid in fused}
        if self.diversity == "mmr":
            head = fused[:MMR_CANDIDATES]
            _, vectors = self.store.get_chunks_with_vectors(head)
            fused = maximal_marginal_relevance(head, dict(fused_scores), vectors, self.mmr_weight) + fused[len(head) :]
        if is_status_question(query):
            fused = self._newest_first(query, fused, dict(fused_scores), chunks, cosine, article_of, k)
        if self.diversity == "mmr":
            return [
                Evidence(chunk=chunks[cid], score=cosine.get(cid, 0.0), rank=i + 1) for i, cid in enumerate(fused[:k])
            ]
        top = cap_per_article(fused, article_of, k, self.max_per_article)
        return [Evidence(chunk=chunks[cid], score=cosine.get(cid, 0.0), rank=i + 1) for i, cid in enumerate(top)]

    def _newest_first(
        self,
        query: str,
        fused: list[str],
        scores: dict[str, float],
        chunks: dict[str, Chunk],
        cosine: dict[str, float],
        article_of: dict[str, str],
        k: int,
    ) -> list[str]:
        """A status question's ranking: newer dated passages ranked up (``recency_boost``), and, when it asks for
        the newest state, the newest dated articles that speak to it given places among the passages the answer
        reads (``reserve_recent``)."""
        day_of = {cid: published_day(chunks[cid].metadata.published) for cid in fused}
        fused = recency_boost(fused, scores, day_of, self.recency_weight)
        if self.recent_slots <= 0 or not asks_for_newest(query):
            return fused
        names = newest_must_mention(query)

        def names_ok(cid: str) -> bool:
            return mentions(names, chunks[cid].metadata.title, chunks[cid].text)

        first = min(k, self.answer_k)
        return reserve_recent(fused, day_of, article_of, cosine, first, self.recent_slots, self.recent_margin, names_ok)
