"""The pipeline a user would otherwise build: the LangChain RAG tutorial, on the same text and embedding model.

RecursiveCharacterTextSplitter (1000 characters, 200 overlap) + Chroma with its default index settings +
``similarity_search`` top 4. Its passages are answered by the same extractive answerer as ours, so every difference
in the report comes from chunking and retrieval.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.embedding import Embedder, LangChainEmbeddings
from assistant.models import Article, ArticleMetadata, Chunk, Evidence

TUTORIAL_K = 4


class LangChainTutorialBaseline:
    """Builds (once, cached on disk) and queries the tutorial pipeline's store."""

    name = "langchain-tutorial"

    def __init__(self, embedder: Embedder, store_dir: Path, articles: list[Article]) -> None:
        self.embedder = embedder
        store_dir.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(store_dir), settings=ChromaSettings(anonymized_telemetry=False))
        self.store = Chroma(client=client, collection_name="baseline", embedding_function=LangChainEmbeddings(embedder))
        self.metadata = {a.article_id: a.metadata for a in articles}
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        docs = splitter.split_documents(
            [Document(page_content=a.text, metadata={"article_id": a.article_id}) for a in articles]
        )
        ids = [f"{d.metadata['article_id']}@{d.metadata['start_index']}" for d in docs]
        existing = set(client.get_collection("baseline").get(include=[])["ids"])
        if set(ids) != existing:  # (re)build only when the text changed
            if existing:
                self.store.delete(ids=list(existing))
            for start in range(0, len(docs), 500):
                self.store.add_documents(docs[start : start + 500], ids=ids[start : start + 500])

    def retrieve(self, question: str, k: int = TUTORIAL_K) -> list[Evidence]:
        with warnings.catch_warnings():
            # LangChain warns, with every hit printed in full, whenever a cosine relevance score falls below 0 (an
            # unrelated passage): as the tutorial, we keep the scores and silence the warning that flooded evals.
            warnings.filterwarnings("ignore", message="Relevance scores must be between 0 and 1")
            hits = self.store.similarity_search_with_relevance_scores(question, k=k)
        evidence = []
        for rank, (doc, score) in enumerate(hits, start=1):
            article_id = str(doc.metadata["article_id"])
            start = int(doc.metadata["start_index"])
            chunk = Chunk(
                chunk_id=f"{article_id}@{start}",
                article_id=article_id,
                index=rank - 1,
                text=doc.page_content,
                start=start,
                end=start + len(doc.page_content),
                metadata=self.metadata.get(article_id, ArticleMetadata(title=article_id)),
            )
            evidence.append(Evidence(chunk=chunk, score=float(score), rank=rank))
        return evidence
