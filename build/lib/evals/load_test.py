"""Load test: many analysts at once, each holding a multi-turn conversation, through the web UI's chat API.

    python -m evals.load_test --users 20 --url http://127.0.0.1:7860
    python -m evals.load_test --users 20                 # starts `peacetalks chat` on a free port, stops it after

Every user has its own ``gradio_client.Client`` (its own session, as a browser tab has), asks its own question from
the corpus question set, then a follow-up of its own that leans on the first turn. All users start together.
Checked for every turn:

* answered: the call returned, and the answer is neither an error (⚠) nor missing;
* not mixed up: the conversation the server re-renders from the session holds exactly this user's questions, in
  order (another user's question there would mean sessions were crossed);
* (``--replay``, default on; for deterministic backends) the same answers as when the conversation is replayed
  alone afterwards: a follow-up answered with another user's history would differ.

Reports p50/p95/max latency per turn and overall, errors and mix-ups; ``--json FILE`` writes the figures. Exit
status 1 if any turn failed or was mixed up. The chat endpoint's inputs are read from the app's API description
(``view_api``), so the script follows the UI as it changes: the question goes to the first text input, every other
input keeps its default.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DATASET = Path(__file__).parent / "datasets" / "corpus_qa.jsonl"
# Follow-ups that lean on the first turn (the assistant must rewrite them with this user's history).
FOLLOW_UPS = [
    "What happened after that?",
    "And who took part in it?",
    "Why did they do that?",
    "And what did Russia say about it?",
    "What did Ukraine say about that?",
    "And what did the United States say about it?",
    "Where did that take place?",
    "When did that happen?",
    "What came of it?",
    "And what did the UN say about that?",
    "Who opposed it?",
    "Who proposed that?",
    "What did it mean for a ceasefire?",
    "And what about prisoners of war in that?",
    "What did Türkiye do about it?",
    "And what did Europe say about that?",
    "How long did that last?",
    "What did critics say about it?",
    "What did it say about security guarantees?",
    "And what about grain exports in that?",
]
ENDPOINT = "/chat"


@dataclass
class TurnResult:
    user: int
    turn: int
    question: str
    seconds: float
    answered: bool
    mixed: bool
    answer: str = ""
    error: str = ""


@dataclass
class LoadReport:
    url: str
    users: int
    turns: int
    results: list[TurnResult] = field(default_factory=list)
    replay_mismatches: list[str] = field(default_factory=list)
    replay_seconds: list[float] = field(default_factory=list)  # the same turns, one user at a time
    wall_seconds: float = 0.0

    @property
    def errors(self) -> list[TurnResult]:
        return [r for r in self.results if not r.answered]

    @property
    def mixed(self) -> list[TurnResult]:
        return [r for r in self.results if r.mixed]

    @property
    def ok(self) -> bool:
        expected = self.users * self.turns
        return len(self.results) == expected and not self.errors and not self.mixed and not self.replay_mismatches

    def latency(self, turn: int | None = None, alone: bool = False) -> dict[str, float]:
        times = self.replay_seconds if alone else [r.seconds for r in self.results if turn is None or r.turn == turn]
        if not times:
            return {}
        p50, p95 = np.percentile(times, [50, 95])
        return {"n": len(times), "p50_s": float(p50), "p95_s": float(p95), "max_s": max(times)}

    def summary(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "users": self.users,
            "turns": self.turns,
            "wall_s": round(self.wall_seconds, 2),
            "latency": {
                "all": self.latency(),
                **{f"turn{t + 1}": self.latency(t) for t in range(self.turns)},
                "alone": self.latency(alone=True),
            },
            "errors": [f"user {r.user} turn {r.turn + 1}: {r.error}" for r in self.errors],
            "mixed": [f"user {r.user} turn {r.turn + 1}" for r in self.mixed],
            "replay_mismatches": self.replay_mismatches,
            "ok": self.ok,
        }

    def table(self) -> str:
        rows = [f"{'':<8}{'n':>5}{'p50 s':>9}{'p95 s':>9}{'max s':>9}"]
        rows_of: list[tuple[str, int | None, bool]] = [("all", None, False)]
        rows_of += [(f"turn {t + 1}", t, False) for t in range(self.turns)] + [("alone", None, True)]
        for name, turn, alone in rows_of:
            lat = self.latency(turn, alone)
            if lat:
                rows.append(f"{name:<8}{lat['n']:>5}{lat['p50_s']:>9.2f}{lat['p95_s']:>9.2f}{lat['max_s']:>9.2f}")
        rows.append(
            f"{self.users} users x {self.turns} turns in {self.wall_seconds:.1f}s: {len(self.errors)} errors, "
            f"{len(self.mixed)} mixed up, {len(self.replay_mismatches)} replay mismatches"
        )
        return "\n".join(rows)


def default_questions() -> list[str]:
    with open(DATASET, encoding="utf-8") as handle:
        return [json.loads(line)["question"] for line in handle if line.strip()]


def conversations(users: int, questions: Sequence[str], follow_ups: Sequence[str] = FOLLOW_UPS) -> list[list[str]]:
    """Each user's questions: a distinct first question, then a distinct follow-up (cycled if there are more
    users than questions)."""
    return [[questions[i % len(questions)], follow_ups[i % len(follow_ups)]] for i in range(users)]


def _plain(text: Any) -> str:
    """Text of a chat message, as a user typed it: tags and Markdown escapes stripped, entities decoded, spaces
    squeezed."""
    if isinstance(text, list | tuple):
        text = " ".join(_plain(t) for t in text)
    elif isinstance(text, dict):
        text = text.get("text") or text.get("value") or text.get("content") or ""
    text = html.unescape(re.sub(r"<[^>]+>", "", str(text)))
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)  # Markdown escapes: "trade\-off" -> "trade-off"
    return " ".join(text.split())


class ChatAPI:
    """The UI's chat endpoint for one user session: ``ask(question) -> (messages, answer_message)``."""

    def __init__(self, url: str) -> None:
        from gradio_client import Client

        self.client = Client(url, verbose=False, download_files=False)
        api = self.client.view_api(print_info=False, return_format="dict")
        endpoint = (api or {}).get("named_endpoints", {}).get(ENDPOINT)
        if endpoint is None:
            raise RuntimeError(
                f"{url} has no {ENDPOINT} endpoint (found: {sorted((api or {}).get('named_endpoints', {}))})"
            )
        self.parameters: list[dict[str, Any]] = endpoint["parameters"]
        texts = [i for i, p in enumerate(self.parameters) if p.get("python_type", {}).get("type") == "str"]
        if not texts:
            raise RuntimeError(f"{ENDPOINT} takes no text input: {self.parameters}")
        self.question_index = texts[0]

    def ask(self, question: str) -> tuple[list[dict[str, Any]], str]:
        args = [
            question if i == self.question_index else p.get("parameter_default") for i, p in enumerate(self.parameters)
        ]
        outputs = self.client.predict(*args, api_name=ENDPOINT)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        messages = next(
            (o for o in outputs if isinstance(o, list) and o and isinstance(o[0], dict) and "role" in o[0]), None
        )
        if messages is None:
            raise RuntimeError(f"no chat transcript among the outputs of {ENDPOINT}")
        last = messages[-1] if messages[-1].get("role") == "assistant" else {}
        return messages, _plain(last.get("content", ""))


def _transcript_ok(messages: list[dict[str, Any]], asked: Sequence[str]) -> bool:
    users = [_plain(m.get("content", "")) for m in messages if m.get("role") == "user"]
    return users == [_plain(q) for q in asked]


def _run_user(url: str, user: int, questions: list[str], start: threading.Barrier, out: list[TurnResult]) -> None:
    try:
        api = ChatAPI(url)
    except Exception as error:
        start.wait()
        out.extend(
            TurnResult(user, t, q, 0.0, False, False, error=f"connect: {error}") for t, q in enumerate(questions)
        )
        return
    start.wait()
    for turn, question in enumerate(questions):
        started = time.perf_counter()
        try:
            messages, answer = api.ask(question)
        except Exception as error:
            out.append(TurnResult(user, turn, question, time.perf_counter() - started, False, False, error=str(error)))
            continue
        seconds = time.perf_counter() - started
        failed = not answer or answer.startswith("⚠") or answer == "…"
        mixed = not _transcript_ok(messages, questions[: turn + 1])
        out.append(TurnResult(user, turn, question, seconds, not failed, mixed, answer, answer if failed else ""))


def run_load(url: str, users: int, questions: Sequence[str] | None = None, replay: bool = True) -> LoadReport:
    """``users`` simultaneous conversations against the app at ``url``; see the module doc."""
    plan = conversations(users, list(questions or default_questions()))
    report = LoadReport(url=url, users=users, turns=len(plan[0]))
    start = threading.Barrier(users + 1)
    per_user: list[list[TurnResult]] = [[] for _ in range(users)]
    threads = [
        threading.Thread(target=_run_user, args=(url, u, plan[u], start, per_user[u]), daemon=True)
        for u in range(users)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    report.wall_seconds = time.perf_counter() - began
    report.results = sorted((r for rs in per_user for r in rs), key=lambda r: (r.user, r.turn))
    if replay:
        for user, questions_of_user in enumerate(plan):
            api = ChatAPI(url)
            for turn, question in enumerate(questions_of_user):
                started = time.perf_counter()
                _, alone = api.ask(question)
                report.replay_seconds.append(time.perf_counter() - started)
                under_load = next((r for r in report.results if r.user == user and r.turn == turn), None)
                if under_load is not None and under_load.answered and under_load.answer != alone:
                    report.replay_mismatches.append(f"user {user} turn {turn + 1}: {question!r}")
    return report


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`peacetalks chat` exited with {process.returncode} before serving {url}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"`peacetalks chat` did not serve {url} within {timeout_s} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--url", help="A running app; without it `peacetalks chat` is started on a free port")
    parser.add_argument("--data-dir", type=Path, help="For the app this script starts [env PEACETALKS_DATA_DIR]")
    parser.add_argument("--replay", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--json", type=Path, help="Write the figures here")
    args = parser.parse_args(argv)

    process = None
    url = args.url
    if url is None:
        port = _free_port()
        url = f"http://127.0.0.1:{port}/"
        command = [sys.executable, "-m", "assistant", "chat", "--host", "127.0.0.1", "--port", str(port)]
        if args.data_dir:
            command += ["--data-dir", str(args.data_dir)]
        process = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL)
    try:
        if process is not None:
            _wait_for(url, process, timeout_s=300)
        report = run_load(url, args.users, replay=args.replay)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    print(report.table())
    for line in report.summary()["errors"] + report.summary()["mixed"] + report.replay_mismatches:
        print(f"  {line}")
    if args.json:
        args.json.write_text(
            json.dumps({**report.summary(), "turns_detail": [asdict(r) for r in report.results]}, indent=2),
            encoding="utf-8",
        )
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
