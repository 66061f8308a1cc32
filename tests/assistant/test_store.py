"""The store's own wiring (the store as a whole is exercised by the ingest and retrieval tests)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import REPO_ROOT


def test_record_manager_class_is_langchains_and_skips_the_chains_package() -> None:
    """Loading the record manager must not import LangChain's chains (0.6 s per ingest process), and must give the
    very class that ``langchain_classic.indexes`` exports, whichever is imported first."""
    script = textwrap.dedent(
        """
        import sys
        from assistant.store import sql_record_manager_class

        loaded = sql_record_manager_class()
        assert sql_record_manager_class() is loaded, "loaded twice"
        heavy = sorted(m for m in sys.modules if m.startswith("langchain_classic.chains"))
        assert not heavy, heavy
        from langchain_classic.indexes import SQLRecordManager
        assert SQLRecordManager is loaded, (SQLRecordManager, loaded)
        from langchain_core.indexing import RecordManager
        assert issubclass(loaded, RecordManager)
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_record_manager_class_after_the_package_import() -> None:
    """When the package was imported first (as the kill tests do), the same class comes back."""
    script = textwrap.dedent(
        """
        from langchain_classic.indexes import SQLRecordManager
        from assistant.store import sql_record_manager_class

        assert sql_record_manager_class() is SQLRecordManager
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
