"""The assistant, wired once: question -> standalone query -> evidence -> draft -> answer with resolved citations.

``build_assistant(settings)`` is the one factory the CLI, the UI, the evaluation tools and the tests use, so they
all get the same components. ``Assistant.stream`` yields text pieces as the backend produces them and then the
final ``Answer``; ``Assistant.ask`` is the same without the pieces.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from langchain_core.language_models import BaseChatModel

from assistant.answering.base import ABSTAIN_TEXT, Answerer, Draft
from assistant.answering.composition import is_status_question
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.llm import LLMAnswerer, make_chat_model
from assistant.chat import FollowUpRewriter, Turn, standalone_question
from assistant.citations import ResolvedCitations, StreamingRenumberer, resolve_citations
from assistant.config import Settings
from assistant.embedding import Embedder, embedder_options
from assistant.models import Answer, Citation, Timings
from assistant.offline import apply_offline_environment
from assistant.retrieval import RetrievalFilters, Retriever
from assistant.store import ChunkStore
from assistant.support import LexicalSemanticJudge, LLMJudge
from assistant.text import has_lone_surrogates, replace_lone_surrogates
from assistant.verification import CitationVerifier

FALLBACK_SEPARATOR = "\n\n[the LLM backend failed; extractive answer:]\n\n"


def newest_cited_date(citations: Sequence[Citation]) -> str | None:
    """The date of the newest dated source an answer cites (ISO), or None when every cited source is undated."""
    dates = [c.published for c in citations if c.published]
    return max(dates) if dates else None


class QuestionError(ValueError):
    """The question itself is unusable (empty, too long); the message says why."""


class Assistant:
    """Answers questions over the store with one backend, falling back to the extractive one when it fails."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkStore,
        retriever: Retriever,
        answerer: Answerer,
        fallback: ExtractiveAnswerer,
        verifier: CitationVerifier | None = None,
        rewriter: FollowUpRewriter | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.retriever = retriever
        self.answerer = answerer
        self.fallback = fallback
        self.verifier = verifier
        self.rewriter = rewriter

    def validate(self, question: str) -> str:
        text = (question or "").strip()
        if not text:
            raise QuestionError("The question is empty: type a question about the peace negotiations.")
        if len(text) > self.settings.max_question_chars:
            raise QuestionError(
                f"The question is {len(text)} characters long; the limit is {self.settings.max_question_chars}. "
                "Ask something shorter."
            )
        if has_lone_surrogates(text):  # e.g. "\ud800" from a JSON body: the embedding tokenizer would crash on it
            raise QuestionError("The question holds invalid characters (unpaired UTF-16 surrogates); retype it.")
        return text

    def ask(self, question: str, history: Sequence[Turn] = (), filters: RetrievalFilters | None = None) -> Answer:
        answer = None
        for item in self.stream(question, history, filters):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(
        self, question: str, history: Sequence[Turn] = (), filters: RetrievalFilters | None = None
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        text = self.validate(question)
        rewritten = self.rewriter.run(text, history) if self.rewriter else standalone_question(text, history)
        query = replace_lone_surrogates(rewritten)  # history comes from the client too
        evidence = self.retriever.run(query, k=self.settings.top_k, filters=filters)
        retrieved = time.perf_counter()

        notices: list[str] = []
        backend = self.answerer.name
        draft: Draft | None = None
        renumber = StreamingRenumberer({ev.rank for ev in evidence})
        streamed = False
        resolved: ResolvedCitations | None = None
        try:
            for item in self.answerer.stream(query, evidence):
                if isinstance(item, Draft):
                    draft = item
                elif piece := renumber.feed(item):
                    streamed = True
                    yield piece
            if tail := renumber.flush():
                yield tail
        except Exception as error:
            if self.answerer is self.fallback:
                raise
            notices.append(
                f"The LLM backend failed ({type(error).__name__}: {str(error)[:200]}); "
                "this is the extractive answer instead."
            )
            backend = self.fallback.name
            draft = self.fallback.run(query, evidence)
            resolved = resolve_citations(draft, evidence)
            # Whatever the failed backend already streamed stays on screen: separate it from the real answer.
            yield (FALLBACK_SEPARATOR + resolved.text) if streamed else resolved.text
        assert draft is not None
        resolved = resolved or resolve_citations(draft, evidence)
        answered = time.perf_counter()
        answer_text, citations, checks, groundedness = resolved.text, resolved.citations, [], None
        verification_notices: list[str] = []
        if self.verifier is not None and not resolved.abstained:
            verified = self.verifier.run(resolved.text, resolved.citations)
            answer_text, citations, checks = verified.text, verified.citations, verified.checks
            groundedness = verified.groundedness
            verification_notices = verified.notices
        done = time.perf_counter()
        yield Answer(
            question=text,
            text=answer_text or ABSTAIN_TEXT,
            citations=citations,
            evidence=evidence,
            abstained=resolved.abstained or not answer_text,
            backend=backend,
            timings=Timings(
                retrieve_ms=(retrieved - started) * 1000,
                answer_ms=(answered - retrieved) * 1000,
                verify_ms=(done - answered) * 1000,
                total_ms=(done - started) * 1000,
            ),
            notices=draft.notices + notices + resolved.notices + verification_notices,
            retrieval_query=query,
            as_of=newest_cited_date(citations) if is_status_question(text) else None,
            checks=checks,
            groundedness=groundedness,
        )


def build_assistant(
    settings: Settings, *, chat_model: BaseChatModel | None = None, embedder: Embedder | None = None
) -> Assistant:
    """Construct every component from one ``Settings``. ``chat_model`` overrides the configured LLM (tests)."""
    apply_offline_environment()
    embedder = embedder or Embedder(
        settings.embedding_model_path, settings.embedding_batch_size, **embedder_options(settings)
    )
    store = ChunkStore(settings, embedder)
    extractive = ExtractiveAnswerer(
        embedder,
        min_passage_score=settings.min_passage_score,
        min_sentence_score=settings.min_sentence_score,
        max_sentences=settings.max_answer_sentences,
        vocabulary=store.vocabulary,
        status_recency_bonus=settings.status_recency_bonus,
        newest_sources=settings.recent_slots,
    )
    answerer: Answerer = extractive
    rewriter = None
    if chat_model is not None:
        answerer, rewriter = LLMAnswerer(chat_model), FollowUpRewriter(chat_model)
    elif settings.llm_configured:
        model = make_chat_model(settings)
        answerer, rewriter = LLMAnswerer(model, name=f"llm:{settings.llm_model}"), FollowUpRewriter(model)
    retriever = Retriever(
        store,
        embedder,
        mode=settings.retrieval_mode,
        candidates=settings.retrieval_candidates,
        max_per_article=settings.max_passages_per_article,
        recency_weight=settings.recency_weight,
        fusion=settings.fusion,
        fusion_alpha=settings.fusion_alpha,
        recent_slots=settings.recent_slots,
        recent_margin=settings.recent_margin,
        answer_k=settings.top_k,
    )
    verifier = build_verifier(settings, embedder)
    return Assistant(settings, store, retriever, answerer, extractive, verifier, rewriter)


def build_verifier(settings: Settings, embedder: Embedder) -> CitationVerifier | None:
    """The citation verifier the settings ask for (None when verification is off)."""
    if settings.verification == "off":
        return None
    if settings.verification == "llm":
        if not settings.llm_configured:
            raise ValueError("PEACETALKS_VERIFICATION=llm needs PEACETALKS_LLM_BASE_URL and PEACETALKS_LLM_MODEL")
        return CitationVerifier(LLMJudge(make_chat_model(settings)), strict=settings.strict_citations)
    return CitationVerifier(LexicalSemanticJudge(embedder), strict=settings.strict_citations)
