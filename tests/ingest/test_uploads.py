"""Upload names, sizes and atomic saving (ingest.uploads): nothing lands outside the folder, a refused or failed
upload leaves nothing behind, and every refusal says why in one line."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import uploads
from ingest.loaders import discover_files, load_article
from ingest.uploads import MAX_NAME_BYTES, UploadError, copy_upload, safe_upload_name, safe_upload_path, save_upload

ARTICLE = b"---\ntitle: Uploaded\n---\nDelegations met in Geneva on Monday.\n"


def _refused(filename: str, fragment: str) -> UploadError:
    with pytest.raises(UploadError) as info:
        safe_upload_name(filename)
    assert fragment in info.value.reason, info.value.reason
    assert "\n" not in str(info.value) and str(info.value).isprintable()
    return info.value


@pytest.mark.parametrize(
    ("filename", "fragment"),
    [
        ("../../etc/passwd.md", "contains a path"),
        ("..", "contains '..'"),
        ("a..md", "contains '..'"),
        ("/etc/passwd.md", "contains a path"),
        ("/abs/article.md", "contains a path"),
        ("sub/article.md", "contains a path"),
        ("..\\..\\windows\\win.ini.md", "contains a path"),
        ("C:\\Users\\x\\article.md", "contains a path"),
        ("C:article.md", "contains a path"),
        ("article.md\x00.png", "NUL byte"),
        ("\x00", "NUL byte"),
        ("art\x1bicle.md", "control character"),
        ("line\nbreak.md", "control character"),
        ("．．／．．／etc／passwd.md", "contains a path"),  # fullwidth dots and solidus fold to ../
        ("‥／secret.md", "contains a path"),  # two-dot leader
        ("a∕b.md", "U+2215 DIVISION SLASH"),  # looks like a slash, is not one: refused all the same
        ("a⁄b.md", "U+2044 FRACTION SLASH"),
        ("evil\u202edm.txt", "text-direction character (U+202E"),  # displays as "eviltxt.md"
        ("zero\u200bwidth.md", "invisible"),
        ("no\u00a0break.md", "U+00A0"),
        (".hidden.md", "hidden"),
        (".md", "hidden"),
        ("x" * 250 + ".md", f"longer than {MAX_NAME_BYTES} bytes"),
        ("和" * 70 + ".md", f"longer than {MAX_NAME_BYTES} bytes"),  # 210 bytes in UTF-8
        ("CON.md", "reserved device name"),
        ("nul.txt", "reserved device name"),
        ("Com1.tar.md", "reserved device name"),
        ("LPT9.html", "reserved device name"),
        ("ＣＯＮ.md", "reserved device name"),  # fullwidth letters fold to CON
        ("article.md ", "start or end with a space or a dot"),
        (" article.md", "start or end with a space or a dot"),
        ("article.md.", "start or end with a space or a dot"),
        ("article", "no type suffix"),
        ("article.exe", "unsupported file type '.exe'"),
        ("article.md.exe", "unsupported file type '.exe'"),
        ("photo.PNG", "unsupported file type '.PNG'"),
        ("README.md", "README"),
        ("readme.markdown", "README"),
        ("", "no name"),
        ("   ", "no name"),
        ("a<b>.md", "'<'"),
        ('a"b.md', "'\"'"),
        ("a|b.md", "'|'"),
        ("a?.md", "'?'"),
        ("a*.md", "'*'"),
        ("note:2.md", "':'"),  # an NTFS alternate data stream
        ("$(rm -rf).md", "'$'"),
    ],
)
def test_bad_names_are_refused_with_a_reason(filename: str, fragment: str) -> None:
    _refused(filename, fragment)


@pytest.mark.parametrize(
    "filename",
    [
        "article.md",
        "Article 2024-03-05 (draft).MD",
        "peace_talks-v2.markdown",
        "notes.txt",
        "page.HTML",
        "report.pdf",
        "переговоры.md",
        "مفاوضات.txt",
        "שיחות.html",
        "和平谈判.md",
        "café.md",
        "readme.txt",  # discovery skips README Markdown only
        "con-talks.md",
        "x" * (MAX_NAME_BYTES - 3) + ".md",
    ],
)
def test_plain_names_are_accepted_unchanged(filename: str) -> None:
    assert safe_upload_name(filename) == filename


def test_decomposed_names_are_stored_composed() -> None:
    """macOS sends NFD ("cafe\u0301.md"); the stored name is NFC, the same string a Linux user types."""
    assert safe_upload_name("cafe\u0301.md") == "café.md"


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filename=st.text(max_size=60) | st.text(st.sampled_from(list("./\\:\x00 abcm")), max_size=20))
def test_any_accepted_name_stays_inside_the_folder(tmp_path: Path, filename: str) -> None:
    try:
        target = safe_upload_path(tmp_path / "uploads", filename)
    except UploadError as error:
        assert error.reason and "\n" not in str(error)
        return
    folder = (tmp_path / "uploads").resolve()
    assert target.parent == folder and target.name == safe_upload_name(filename)
    assert not target.name.startswith(".") and "/" not in target.name and "\\" not in target.name
    assert target.suffix.lower() in {".md", ".markdown", ".txt", ".html", ".htm", ".pdf"}


def test_non_string_names_are_refused() -> None:
    with pytest.raises(UploadError, match="must be text"):
        safe_upload_name(b"article.md")  # type: ignore[arg-type]


def test_upload_error_pickles_and_escapes_invisible_characters() -> None:
    error = UploadError("evil\u202edm.txt", "reason")
    assert str(error) == "'evil\\u202edm.txt': reason"
    again = pickle.loads(pickle.dumps(error))
    assert (again.filename, again.reason) == ("evil\u202edm.txt", "reason")


# --------------------------------------------------------------------------------------------------------------------
# Saving


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_save_upload_writes_the_file_and_it_ingests(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    path = save_upload(folder, "geneva.md", ARTICLE, max_bytes=10_000)
    assert path == folder.resolve() / "geneva.md" and path.read_bytes() == ARTICLE
    assert _leftovers(folder) == ["geneva.md"]
    sources, errors = discover_files([folder])
    assert errors == [] and load_article(sources[0]).metadata.title == "Uploaded"


def test_save_upload_refuses_oversized_and_empty_data_before_writing(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    with pytest.raises(UploadError, match=r"the file is 10,001 bytes, over the 10,000 bytes limit"):
        save_upload(folder, "big.txt", b"a" * 10_001, max_bytes=10_000)
    for empty in (b"", b"  \n\t"):
        with pytest.raises(UploadError, match="the file is empty"):
            save_upload(folder, "empty.txt", empty, max_bytes=10_000)
    assert not folder.exists()


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00", "binary file, not text"),
        ("latin1.txt", "Caf\u00e9".encode("latin-1"), "not valid UTF-8"),
        ("fake.pdf", b"just text", "no '%PDF-' header"),
        ("bomb.md", b"---\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
         b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ntitle: *d\n---\nx\n",
         "front matter expands"),
        ("invisible.txt", "\u200b\u200b\u202e".encode(), "no readable text"),
    ],
)  # fmt: skip
def test_save_upload_refuses_what_the_loader_refuses_and_leaves_nothing(
    tmp_path: Path, filename: str, data: bytes, reason: str
) -> None:
    folder = tmp_path / "uploads"
    with pytest.raises(UploadError) as info:
        save_upload(folder, filename, data, max_bytes=100_000)
    assert reason in info.value.reason and info.value.filename == filename
    assert _leftovers(folder) == []


def test_save_upload_keeps_an_existing_file_unless_told_to_replace_it(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    save_upload(folder, "a.txt", b"First version.", max_bytes=1000)
    with pytest.raises(UploadError, match="already uploaded"):
        save_upload(folder, "a.txt", b"Second version.", max_bytes=1000)
    assert (folder / "a.txt").read_bytes() == b"First version."
    save_upload(folder, "a.txt", b"Second version.", max_bytes=1000, overwrite=True)
    assert (folder / "a.txt").read_bytes() == b"Second version."
    assert _leftovers(folder) == ["a.txt"]


def test_a_failed_rename_leaves_neither_the_file_nor_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "uploads"

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uploads.os, "link", disk_full)
    with pytest.raises(UploadError, match=r"could not save the file \(No space left on device\)"):
        save_upload(folder, "a.txt", b"Some text.", max_bytes=1000)
    assert _leftovers(folder) == []


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "uploads"
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(uploads.os, "fsync", failing_fsync)
    with pytest.raises(UploadError, match="Input/output error"):
        save_upload(folder, "a.txt", b"Some text.", max_bytes=1000)
    monkeypatch.setattr(uploads.os, "fsync", real_fsync)
    assert _leftovers(folder) == []


def test_file_systems_without_hard_links_still_save(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*args: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(uploads.os, "link", no_links)
    path = save_upload(tmp_path / "up", "a.txt", b"Some text.", max_bytes=1000)
    assert path.read_bytes() == b"Some text." and _leftovers(tmp_path / "up") == ["a.txt"]


def test_links_and_folders_in_the_way_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    outside = tmp_path / "outside.md"
    outside.write_text("# Outside\n")
    (folder / "link.md").symlink_to(outside)
    (folder / "dir.md").mkdir()
    with pytest.raises(UploadError, match="outside the uploads folder"):
        save_upload(folder, "link.md", ARTICLE, max_bytes=1000, overwrite=True)
    assert outside.read_text() == "# Outside\n"
    with pytest.raises(UploadError, match="not a file"):
        save_upload(folder, "dir.md", ARTICLE, max_bytes=1000, overwrite=True)
    inside = folder / "real.md"
    inside.write_text("# Real\n")
    (folder / "inner-link.md").symlink_to(inside)
    with pytest.raises(UploadError, match="symbolic link"):
        save_upload(folder, "inner-link.md", ARTICLE, max_bytes=1000, overwrite=True)


def test_uploads_folder_reached_through_a_link_is_resolved(tmp_path: Path) -> None:
    real = tmp_path / "real-uploads"
    real.mkdir()
    (tmp_path / "uploads").symlink_to(real, target_is_directory=True)
    path = save_upload(tmp_path / "uploads", "a.txt", b"Some text.", max_bytes=1000)
    assert path == real.resolve() / "a.txt"


def test_save_upload_refuses_non_bytes(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="must be bytes, not str"):
        save_upload(tmp_path, "a.txt", "text", max_bytes=1000)  # type: ignore[arg-type]


def test_copy_upload_checks_the_size_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(10 * 1024**3)  # sparse: reading it would take all the memory
    with pytest.raises(UploadError, match=r"the file is 10,737,418,240 bytes, over the 1,000 bytes limit"):
        copy_upload(tmp_path / "uploads", "huge.txt", huge, max_bytes=1000)
    huge.unlink()
    small = tmp_path / "gradio-tmp-123"
    small.write_bytes(ARTICLE)
    assert copy_upload(tmp_path / "uploads", "from-browser.md", small, max_bytes=1000).read_bytes() == ARTICLE
    with pytest.raises(UploadError, match="could not be read"):
        copy_upload(tmp_path / "uploads", "gone.md", tmp_path / "missing", max_bytes=1000)
