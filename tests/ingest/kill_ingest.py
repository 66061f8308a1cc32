"""Run the real ``peacetalks`` command, but SIGKILL the process at a chosen point of an ingest (test_kill.py).

    python -m tests.ingest.kill_ingest POINT[:N] ingest FOLDER --data-dir DIR -q

POINT is where the N-th (default first) such event kills the process, with no chance to clean up:

* ``embed``   -- inside an embedding call, after half of its texts are embedded (nothing of them written yet);
* ``upsert``  -- inside a Chroma write, after the first half of its chunks landed (a half-written article);
* ``records`` -- right after the record manager recorded an article's chunks (its file hash not yet recorded);
* ``delete``  -- right after chunks were deleted from Chroma (their keys still in the record manager);
* ``publish`` -- when the ingest is about to publish (everything written, the corpus version not bumped).

Each article is indexed on its own (``GROUP_CHUNKS = 1``), so "the N-th" counts articles. Exits 0 only if the
point was never reached (the test treats that as a failure: the point must really be hit).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str, nth: int) -> None:
    seen = 0

    def reached() -> bool:
        nonlocal seen
        seen += 1
        return seen == nth

    if point == "embed":
        from assistant.embedding import LangChainEmbeddings

        real_embed = LangChainEmbeddings.embed_documents

        def embed_documents(self: Any, texts: list[str]) -> list[list[float]]:
            if reached():
                real_embed(self, texts[: max(1, len(texts) // 2)])
                die()
            return real_embed(self, texts)

        LangChainEmbeddings.embed_documents = embed_documents  # type: ignore[method-assign]
    elif point == "upsert":
        from chromadb.api.models.Collection import Collection

        real_upsert = Collection.upsert

        def upsert(self: Any, ids: Any, **kwargs: Any) -> None:
            if reached():
                half = len(ids) // 2
                if half:
                    real_upsert(self, ids[:half], **{k: v[:half] if v is not None else None for k, v in kwargs.items()})
                die()
            real_upsert(self, ids, **kwargs)

        Collection.upsert = upsert  # type: ignore[method-assign]
    elif point == "records":
        from langchain_classic.indexes import SQLRecordManager

        real_update = SQLRecordManager.update

        def update(self: Any, *args: Any, **kwargs: Any) -> None:
            real_update(self, *args, **kwargs)
            if reached():
                die()

        SQLRecordManager.update = update  # type: ignore[method-assign]
    elif point == "delete":
        from chromadb.api.models.Collection import Collection

        real_delete = Collection.delete

        def delete(self: Any, *args: Any, **kwargs: Any) -> None:
            real_delete(self, *args, **kwargs)
            if reached():
                die()

        Collection.delete = delete  # type: ignore[method-assign]
    elif point == "publish":
        from assistant.store import ChunkStore

        def publish(self: Any) -> str:
            die()
            return ""

        ChunkStore.publish = publish  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown kill point {point!r}")


def main() -> None:
    point, _, nth = sys.argv[1].partition(":")
    import ingest.pipeline
    from assistant.cli import main as cli_main

    ingest.pipeline.GROUP_CHUNKS = 1
    arm(point, int(nth or 1))
    sys.argv = ["peacetalks", *sys.argv[2:]]
    cli_main()


if __name__ == "__main__":
    main()
