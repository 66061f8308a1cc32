"""A real PostgreSQL server on loopback (its own data folder and port), for the shared-records tests.

PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user (``runuser``). Tests that need it
are skipped where PostgreSQL or the psycopg driver is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.chroma_server import _die_with_parent, free_port


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(versions[-1]) if versions else None


class PostgresServer:
    """``start()`` an initdb'd cluster with trust auth for user ``peacetalks``; ``url`` for SQLAlchemy."""

    def __init__(self) -> None:
        # Its own folder straight under the system temp dir: pytest's are private to the user running the tests,
        # which the ``postgres`` user could not enter.
        self.folder = Path(tempfile.mkdtemp(prefix="peacetalks-postgres-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://peacetalks@127.0.0.1:{self.port}/postgres"
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return False
        as_root = os.geteuid() == 0
        return bool(find_binary("initdb") and find_binary("postgres") and (not as_root or shutil.which("runuser")))

    def _command(self, *args: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def start(self, timeout_s: float = 60.0) -> PostgresServer:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        data = self.folder / "data"
        log = self.folder / "postgres.log"
        initdb, postgres = find_binary("initdb"), find_binary("postgres")
        assert initdb and postgres
        subprocess.run(
            self._command(initdb, "-D", str(data), "-A", "trust", "-U", "peacetalks", "--no-sync", "-E", "UTF8"),
            check=True,
            capture_output=True,
        )
        with open(log, "ab") as out:
            self._process = subprocess.Popen(
                self._command(
                    postgres, "-D", str(data), "-p", str(self.port), "-k", str(self.folder),
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                ),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        import sqlalchemy as sa

        engine = sa.create_engine(self.url)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                try:
                    with engine.connect():
                        return self
                except sa.exc.OperationalError:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"postgres did not start: {log.read_text()[-2000:]}") from None
                    time.sleep(0.1)
        finally:
            engine.dispose()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        pid_file = self.folder / "data" / "postmaster.pid"
        try:  # runuser may not pass signals on: signal the postmaster itself (SIGINT: fast shutdown)
            os.kill(int(pid_file.read_text().split()[0]), 2)
        except (OSError, ValueError):
            process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        shutil.rmtree(self.folder, ignore_errors=True)
