"""The package's one cross-process lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from assistant.locks import file_lock

TRY_LOCK = "\n".join(
    [
        "import fcntl, sys",
        "handle = open(sys.argv[1], 'a')",
        "try:",
        "    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)",
        "    print('got')",
        "except BlockingIOError:",
        "    print('busy')",
    ]
)


def test_file_lock_excludes_other_processes_until_released(tmp_path: Path) -> None:
    lock = tmp_path / "deep" / "x.lock"
    with file_lock(lock):
        assert lock.is_file()  # its folder is created
        held = subprocess.run([sys.executable, "-c", TRY_LOCK, str(lock)], capture_output=True, text=True, check=True)
        assert held.stdout.strip() == "busy"
    free = subprocess.run([sys.executable, "-c", TRY_LOCK, str(lock)], capture_output=True, text=True, check=True)
    assert free.stdout.strip() == "got"
