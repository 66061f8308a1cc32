"""Checks on the curated corpus in corpus/: front matter, dates, and verbatim bodies against the shared sources."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO_ROOT / "corpus"
README = CORPUS_DIR / "README.md"
REQUIRED_KEYS = ("title", "publisher", "author", "published", "source", "license", "excerpt")


def shared_dir() -> Path:
    return Path(os.environ.get("PEACETALKS_SHARED_DIR") or REPO_ROOT.parent / "shared")


def sources_dir() -> Path:
    return shared_dir() / "corpus-sources"


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS_DIR.glob("*.md") if p.name != "README.md")


def split_lines_at_first_separator(raw: bytes) -> tuple[bytes, bytes]:
    """Split raw bytes at the first line that is exactly ``---``: (before, after), both without that line."""
    lines = raw.split(b"\n")
    idx = lines.index(b"---")
    return b"\n".join(lines[:idx]), b"\n".join(lines[idx + 1 :])


def split_front_matter(raw: bytes) -> tuple[bytes, bytes]:
    """Return (front matter, body) of a corpus file: front matter lies between the first two ``---`` lines."""
    before, rest = split_lines_at_first_separator(raw)
    assert before == b"", "a corpus file must start with a '---' line"
    return split_lines_at_first_separator(rest)


def source_body(path: Path) -> bytes:
    """Body of a shared source file: everything after its first line that is exactly ``---``."""
    return split_lines_at_first_separator(path.read_bytes())[1]


def load_front_matter(path: Path) -> dict:
    fm_bytes, _ = split_front_matter(path.read_bytes())
    fm = yaml.safe_load(fm_bytes.decode("utf-8"))
    assert isinstance(fm, dict), f"{path.name}: front matter is not a mapping"
    return fm


def require_sources() -> Path:
    src = sources_dir()
    if not src.is_dir():
        pytest.skip(f"shared corpus sources not found at {src} (set PEACETALKS_SHARED_DIR to the shared folder)")
    return src


def test_corpus_is_not_empty() -> None:
    assert corpus_files(), f"no corpus files found in {CORPUS_DIR}"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_front_matter(path: Path) -> None:
    fm = load_front_matter(path)
    missing = [k for k in REQUIRED_KEYS if k not in fm]
    assert not missing, f"{path.name}: missing keys {missing}"
    for key in ("title", "publisher", "source", "license"):
        assert isinstance(fm[key], str) and fm[key].strip(), f"{path.name}: {key} must be a non-empty string"
    assert fm["author"] is None or (isinstance(fm["author"], str) and fm["author"].strip())
    assert isinstance(fm["excerpt"], bool), f"{path.name}: excerpt must be true/false, got {fm['excerpt']!r}"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_published_is_null_or_iso_date(path: Path) -> None:
    published = load_front_matter(path)["published"]
    if published is None or (isinstance(published, dt.date) and not isinstance(published, dt.datetime)):
        return
    assert isinstance(published, str), f"{path.name}: published must be null or an ISO date, got {published!r}"
    try:
        dt.date.fromisoformat(published)
    except ValueError:
        pytest.fail(f"{path.name}: published {published!r} is not an ISO date (YYYY-MM-DD)")
    assert len(published) == 10, f"{path.name}: published {published!r} is not in YYYY-MM-DD form"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_body_is_verbatim_copy_of_source(path: Path) -> None:
    src_dir = require_sources()
    source = src_dir / path.name
    assert source.is_file(), f"{path.name}: no matching source file in {src_dir}"
    _, body = split_front_matter(path.read_bytes())
    assert body == source_body(source), f"{path.name}: body differs from {source}"


def test_every_source_has_a_corpus_file() -> None:
    src_dir = require_sources()
    sources = {p.name for p in src_dir.glob("*.md")}
    assert sources, f"no source files in {src_dir}"
    missing = sorted(sources - {p.name for p in corpus_files()})
    assert not missing, f"source files without a corpus counterpart: {missing}"


def test_readme_attribution_table_lists_every_file() -> None:
    assert README.is_file(), "corpus/README.md is missing"
    table_rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    table = "\n".join(table_rows)
    missing = [p.name for p in corpus_files() if p.name not in table]
    assert not missing, f"README attribution table does not mention: {missing}"
