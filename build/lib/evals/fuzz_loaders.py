"""Coverage-guided fuzzing of the loaders (and the chunker behind them) with atheris, for a bounded time.

    python -m evals.fuzz_loaders --seconds 120 --format md      # one format: md, html, txt or pdf
    python -m evals.fuzz_loaders --seconds 480 --format all     # each format in turn, a quarter of the time each

Each input is written to a file with the format's suffix and loaded with ``load_article``, exactly as ingestion
does. A ``LoadError`` is the expected answer to broken input; anything else is a finding: another exception, an
article that breaks the loader's promises (control characters or lone surrogates in the text, text not stripped,
an empty or multi-line title, a multi-line error message), a chunking that breaks the chunker's (a chunk over the
token budget, offsets that do not give back the chunk's text, chunks out of order), or an input that took more
than ``--slow`` seconds. Every finding is saved once per distinct cause, input and traceback, under
``<findings-dir>/<format>/``; the run ends with a summary (executions, execs/s, findings) printed and written as
``summary.json``. The parsers are instrumented (ingest, PyYAML, BeautifulSoup, pypdf), so the fuzzer steers
towards new code paths; seeds are the bundled corpus (turned into each format), a few crafted files and the
fixed findings in ``tests/ingest/fuzz_cases/``. Without atheris (it ships Linux wheels only) the script falls back
to mutating the seeds at random, without coverage guidance.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMATS = ("md", "html", "txt", "pdf")
INSTRUMENTED = ["ingest", "assistant.text", "yaml", "bs4", "pypdf"]  # the code the coverage feedback steers through
REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT / "corpus"
DEFAULT_FINDINGS_DIR = REPO_ROOT / "test-artifacts" / "fuzz"
REGRESSION_CASES = REPO_ROOT / "tests" / "ingest" / "fuzz_cases"

# Tokens that help the mutator build structure it would take long to stumble on (libFuzzer -dict format).
DICTIONARIES: dict[str, list[str]] = {
    "md": ["---", "\n---\n", "title: ", "published: ", "author: ", "excerpt: ", "&a ", "*a", "<<: ", "!!python/",
           "!!binary ", "!!set ", "? ", "- ", "[", "]", "{", "}", "# ", "===", "```", "](", "\\u", "\ufeff", "\u202e",
           "\u200b", "2024-02-30", "0x", "~"],
    "html": ["<html>", "<body>", "<article>", "</article>", "<main>", "<div>", "</div>", "<p>", "<pre>", "<br>",
             "<table><tr><td>", "<script>", "<style>", "<nav>", "<meta charset=\"",
             "<meta property=\"og:title\" content=\"",
             "<meta name=\"author\" content=\"", "<time datetime=\"", "<link rel=\"canonical\" href=\"", "hidden",
             "role=\"navigation\"", "&#", "&#x", ";", "<!DOCTYPE", "<![CDATA[", "<!--", "-->", "<?xml", "<!ENTITY",
             "SYSTEM \"file:///etc/passwd\"", "<svg>", "<math>", "<template>", "<noscript>", "<title>"],
    "txt": ["\n\n", ". ", "\u200b", "\u202e", "\ufeff", "\u0301", "\r\n", "\x0c", "...", "U.S. ", "No. 3", "[12]"],
    "pdf": ["%PDF-1.4\n", "obj", "endobj", "stream\n", "\nendstream", "xref", "trailer", "startxref", "%%EOF",
            "/Type /Page", "/Type /Pages", "/Kids [", "/Count ", "/Contents ", "/Filter /FlateDecode", "/Length ",
            "/Encrypt", "/Font", "/ToUnicode", "BT", "ET", "Tj", "TJ", "Tf", "Td", "/Info", "/Title (", "/URI (",
            "/Launch", "/F (", "<<", ">>", "R", "/Root", "/Parent", "/Resources", "/XObject", "/Do"],
}  # fmt: skip

CRAFTED_SEEDS: dict[str, list[bytes]] = {
    "md": [
        b"---\ntitle: A\npublished: 2024-01-02\nauthor: [A, B]\nexcerpt: true\n---\n# Heading\n\nBody. More text.\n",
        b"---\na: &a [x, x]\nb: &b [*a, *a]\npublished: *b\n---\nbody\n",
        b"---\ntitle: !!python/object/apply:os.system ['true']\n---\nbody\n",
        b"Setext title\n===\n\n" + "\u200b\u202e\u0301 ".encode() * 20 + b"\n",
    ],
    "html": [
        b"<html><head><title>T</title><meta charset='cp1252'></head><body><article><p>Hello.</p></article></body>",
        b"<div>" * 300 + b"deep" + b"</div>" * 300,
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><html><p>&x;</p></html>',
        b"<table><tr><td>a<td>b</table><pre>  code\n  block</pre><p hidden>no</p><nav>menu</nav>",
    ],
    "txt": [
        b"Title line\n\nFirst sentence. Second sentence!\n",
        "\u202ertl \u200bzero \ufeffbom e\u0301 ".encode() * 50,
        b"x" * 5000,
        b"a. " * 2000,
    ],
    "pdf": [],  # written with fpdf2 when it is installed (a dev dependency)
}


@dataclass
class Stats:
    """What one run found; ``findings`` maps a cause to how often it was hit and where its input was saved."""

    fmt: str
    seconds: float = 0.0
    executions: int = 0
    loaded: int = 0
    load_errors: int = 0
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.fmt,
            "seconds": round(self.seconds, 1),
            "executions": self.executions,
            "execs_per_s": round(self.executions / self.seconds, 1) if self.seconds else 0.0,
            "loaded": self.loaded,
            "load_errors": self.load_errors,
            "findings": self.findings,
        }


# --------------------------------------------------------------------------------------------------------------------
# Seeds


def _pdf_seeds() -> list[bytes]:
    try:
        from fpdf import FPDF
    except ImportError:
        return [b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"]
    seeds = []
    for lines, title in ((["Ceasefire talks resumed.", "Second line."], "Talks"), (["One page only."], None)):
        pdf = FPDF()
        pdf.set_compression(False)  # readable streams give the mutator something to work with
        pdf.add_page()
        if title:
            pdf.set_title(title)
        pdf.set_font("Helvetica", size=12)
        for line in lines:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
        seeds.append(bytes(pdf.output()))
    return seeds


def write_seeds(fmt: str, folder: Path, max_len: int) -> int:
    """Seed the fuzzer's working corpus with the bundled articles (in the format) and the crafted files."""
    from ingest.loaders import discover_files, load_article

    folder.mkdir(parents=True, exist_ok=True)
    seeds = list(CRAFTED_SEEDS[fmt]) + (_pdf_seeds() if fmt == "pdf" else [])
    if fmt != "pdf":
        sources, _ = discover_files([CORPUS_DIR])
        for source in sources[:6]:
            raw = source.path.read_bytes()
            if fmt == "md":
                seeds.append(raw)
            else:
                text = load_article(source).text[: max_len // 2]
                if fmt == "txt":
                    seeds.append(text.encode())
                else:
                    body = "".join(f"<p>{p}</p>\n" for p in text.split("\n\n"))
                    seeds.append(
                        f"<html><head><title>{source.article_id}</title></head><body><main>{body}</main>".encode()
                    )
    for seed in seeds:
        seed = seed[:max_len]
        (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    if REGRESSION_CASES.is_dir():  # earlier findings, fixed: they must stay fixed and are good starting points
        for case in REGRESSION_CASES.glob(f"*.{fmt}"):
            data = case.read_bytes()[:max_len]
            (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return len(list(folder.iterdir()))


# --------------------------------------------------------------------------------------------------------------------
# One format, in this process


def _problems(article: Any, chunks: list[Any], tokenizer: Any, max_tokens: int) -> list[str]:
    """The promises a loaded article and its chunks must keep (empty when all hold)."""
    import re

    problems = []
    text = article.text
    if not isinstance(text, str) or not text or text != text.strip():
        problems.append("text is empty or not stripped")
    elif re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", text):
        problems.append("text holds control characters or lone surrogates")
    title = article.metadata.title
    if not title or "\n" in title or re.search("[\x00-\x1f\x7f-\x9f\ud800-\udfff]", title):
        problems.append("title is empty or holds line breaks or control characters")
    previous_start = -1
    for chunk in chunks:
        if text[chunk.start : chunk.end] != chunk.text:
            problems.append("chunk offsets do not give back the chunk's text")
        if len(tokenizer.encode(chunk.text, disallowed_special=())) > max_tokens:
            problems.append("chunk over the token budget")
        if chunk.start <= previous_start:
            problems.append("chunks out of order")
        previous_start = chunk.start
    if not chunks:
        problems.append("a loaded article gave no chunks")
    return sorted(set(problems))


def _dict_escape(token: str) -> str:
    """A token in libFuzzer's dictionary syntax: printable ASCII as is, every other byte as ``\\xNN``."""
    return "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\x{b:02X}" for b in token.encode("utf-8"))


def _cause(exc: BaseException) -> str:
    """A finding's identity: the exception type and where it was raised (file:line of the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}"


def fuzz_one_format(fmt: str, seconds: float, findings_dir: Path, max_len: int, slow_s: float, chunk: bool) -> Stats:
    """Run atheris on one format until ``seconds`` have passed; returns (and writes) the run's statistics."""
    try:
        import atheris
    except ImportError:  # no wheel for this platform: random mutation of the seeds, without coverage guidance
        atheris = None
    with atheris.instrument_imports(include=INSTRUMENTED) if atheris else contextlib.nullcontext():
        import bs4  # noqa: F401  (imported here so that it is instrumented)
        import pypdf  # noqa: F401
        import yaml  # noqa: F401

        from ingest.chunking import ChunkingConfig, SentenceChunker, load_tokenizer
        from ingest.loaders import LoadError, SourceFile, load_article

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # damaged PDFs log a warning for each repair
    warnings.filterwarnings("ignore")

    out = findings_dir / fmt
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"fuzz-{fmt}-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    seeds = work / "corpus"
    n_seeds = write_seeds(fmt, seeds, max_len)
    dictionary = work / "tokens.dict"
    dictionary.write_text("".join(f'"{_dict_escape(token)}"\n' for token in DICTIONARIES[fmt]))
    target = work / f"input.{fmt}"
    source = SourceFile(path=target, root=work, article_id=f"fuzz/input.{fmt}")
    tokenizer = load_tokenizer(work / "tiktoken")
    config = ChunkingConfig(max_tokens=64, overlap_tokens=16)  # small chunks: more cuts per input
    chunker = SentenceChunker(tokenizer, config)

    stats = Stats(fmt)
    started = time.perf_counter()

    def finish() -> None:
        stats.seconds = time.perf_counter() - started
        (out / "summary.json").write_text(json.dumps(stats.as_dict(), indent=2) + "\n")
        print_summary([stats])
        sys.stdout.flush()
        shutil.rmtree(work, ignore_errors=True)
        os._exit(0)  # libFuzzer never returns; leave now, with the summary written

    def record(cause: str, data: bytes, detail: str) -> None:
        entry = stats.findings.get(cause)
        if entry is None:
            name = f"{hashlib.sha1(cause.encode()).hexdigest()[:10]}.{fmt}"
            (out / name).write_bytes(data)
            (out / f"{name}.txt").write_text(f"{cause}\n\n{detail}\n")
            entry = stats.findings[cause] = {"count": 0, "input": str(out / name), "size": len(data)}
            print(f"\nFINDING [{fmt}] {cause} -> {out / name}", file=sys.stderr, flush=True)
        entry["count"] += 1

    def test_one_input(data: bytes) -> None:
        if time.perf_counter() - started >= seconds:
            finish()
        stats.executions += 1
        target.write_bytes(data)
        began = time.perf_counter()
        try:
            article = load_article(source, max_bytes=max_len * 2)
        except LoadError as error:
            stats.load_errors += 1
            if "\n" in str(error):
                record("LoadError message spans several lines", data, str(error))
            return
        except Exception as exc:  # the finding this harness is for
            record(_cause(exc), data, traceback.format_exc())
            return
        finally:
            if time.perf_counter() - began > slow_s:
                record(f"slow input (over {slow_s:g} s to load)", data, f"{time.perf_counter() - began:.1f} s")
        stats.loaded += 1
        if not chunk:
            return
        began = time.perf_counter()
        try:
            chunks = chunker.run(article)
        except Exception as exc:
            record(f"chunking: {_cause(exc)}", data, traceback.format_exc())
            return
        if time.perf_counter() - began > slow_s:
            record(f"slow input (over {slow_s:g} s to chunk)", data, f"{time.perf_counter() - began:.1f} s")
        for problem in _problems(article, chunks, tokenizer, config.max_tokens):
            record(f"invariant: {problem}", data, f"text={article.text[:500]!r}")

    engine = "atheris" if atheris else "random mutation (atheris is not installed)"
    print(f"[{fmt}] {engine}: {n_seeds} seeds, {seconds:g} s, max_len {max_len}", flush=True)
    if atheris is None:
        mutate_forever(test_one_input, [p.read_bytes() for p in seeds.iterdir()], DICTIONARIES[fmt], max_len)
    argv = [
        sys.argv[0],
        str(seeds),
        f"-max_len={max_len}",
        f"-dict={dictionary}",
        "-timeout=60",  # a true hang (never returns) is saved by libFuzzer itself
        f"-artifact_prefix={out}/",
        "-print_final_stats=0",
        "-close_fd_mask=0",
    ]
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
    finish()  # not reached: Fuzz() ends the process
    return stats


def mutate_forever(target: Callable[[bytes], None], seeds: list[bytes], tokens: list[str], max_len: int) -> None:
    """The fallback engine: seeds mutated at random (bytes flipped, inserted, deleted, duplicated; dictionary
    tokens spliced in; two seeds crossed). ``target`` ends the process when the time is up."""
    rng = random.Random(0)
    pool = [seed for seed in seeds if seed] or [b"x"]
    encoded = [token.encode("utf-8") for token in tokens]
    while True:
        data = bytearray(rng.choice(pool))
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data) + 1)
            choice = rng.randrange(6)
            if choice == 0 and data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
            elif choice == 1:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            elif choice == 2:
                del data[at : at + rng.randint(1, 64)]
            elif choice == 3:
                data[at:at] = rng.choice(encoded) * rng.randint(1, 50)
            elif choice == 4 and data:
                data[at:at] = data[at : at + rng.randint(1, 256)] * rng.randint(1, 20)
            else:
                other = rng.choice(pool)
                data = data[:at] + other[rng.randrange(len(other) + 1) :]
        data = data[:max_len]
        target(bytes(data))
        if len(pool) < 1000 and rng.random() < 0.05:
            pool.append(bytes(data))


# --------------------------------------------------------------------------------------------------------------------
# All formats: one child process each (atheris fuzzes once per process)


def print_summary(runs: list[Stats]) -> None:
    print("\nformat  seconds  executions  execs/s  loaded  LoadError  findings")
    for run in runs:
        row = run.as_dict()
        print(
            f"{row['format']:<6} {row['seconds']:>8.1f} {row['executions']:>11} {row['execs_per_s']:>8.1f} "
            f"{row['loaded']:>7} {row['load_errors']:>10} {len(row['findings']):>9}"
        )
        for cause, entry in row["findings"].items():
            print(f"    {entry['count']:>6} x {cause}  ({entry['input']})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="fuzzing time (for 'all': shared equally)")
    parser.add_argument("--format", choices=[*FORMATS, "all"], default="all")
    parser.add_argument("--findings-dir", type=Path, default=DEFAULT_FINDINGS_DIR)
    parser.add_argument("--max-len", type=int, default=16_384, help="largest input the fuzzer builds, in bytes")
    parser.add_argument("--slow", type=float, default=5.0, help="seconds after which an input counts as a finding")
    parser.add_argument("--no-chunk", action="store_true", help="fuzz the loaders only, not the chunker as well")
    args = parser.parse_args(argv)

    if args.format != "all":
        fuzz_one_format(args.format, args.seconds, args.findings_dir, args.max_len, args.slow, not args.no_chunk)
        return 0  # not reached

    runs = []
    for fmt in FORMATS:
        command = [sys.executable, "-m", "evals.fuzz_loaders", "--format", fmt, "--seconds", str(args.seconds / 4)]
        command += ["--findings-dir", str(args.findings_dir), "--max-len", str(args.max_len), "--slow", str(args.slow)]
        command += ["--no-chunk"] if args.no_chunk else []
        subprocess.run(command, cwd=REPO_ROOT, check=False, stdout=subprocess.DEVNULL)
        summary = args.findings_dir / fmt / "summary.json"
        if summary.exists():
            row = json.loads(summary.read_text())
            runs.append(
                Stats(fmt, row["seconds"], row["executions"], row["loaded"], row["load_errors"], row["findings"])
            )
        else:
            print(f"[{fmt}] the fuzzer stopped without a summary (a hang or crash: see {args.findings_dir / fmt})")
    print_summary(runs)
    (args.findings_dir / "summary.json").write_text(json.dumps([r.as_dict() for r in runs], indent=2) + "\n")
    return 1 if any(r.findings for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
