"""Tests for ingest.loaders on real files written to tmp_path."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import pytest
from fpdf import FPDF

from ingest.loaders import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_SUFFIXES,
    LoadError,
    SourceFile,
    discover_files,
    load_article,
)


def _source(path: Path) -> SourceFile:
    return SourceFile(path=path, root=path.parent, article_id=path.name)


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_bytes(content.encode("utf-8"))
    else:
        path.write_bytes(content)
    return path


def _load_error(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_article(_source(path), max_bytes=max_bytes)
    err = info.value
    assert err.path == str(path)
    assert str(err) == f"{path}: {err.reason}"
    assert "\n" not in str(err)
    return err


def _pdf(path: Path, lines: list[str] | None, *, title: str | None = None, user_password: str | None = None) -> Path:
    pdf = FPDF()
    pdf.add_page()
    if title is not None:
        pdf.set_title(title)
    if lines:
        pdf.set_font("Helvetica", size=12)
        for line in lines:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    else:
        pdf.rect(20, 20, 100, 50)  # drawn, but no text
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    path.write_bytes(bytes(pdf.output()))
    return path


# --------------------------------------------------------------------------------------------------------------------
# Markdown

FRONT_MATTER_ARTICLE = """---
title: "Ceasefire talks resume in Geneva"
publisher: Example Gazette
author: [Ana Ruiz, Ben Cole]
published: 2024-03-05
source: https://example.org/geneva
license: CC BY 4.0
excerpt: true
tags: [ignored]
---

# A different heading

Delegations met on Monday.\r\n\r\nThe second   paragraph keeps   its spacing.
"""


def test_markdown_front_matter_fields(tmp_path: Path) -> None:
    path = _write(tmp_path / "geneva.md", FRONT_MATTER_ARTICLE)
    article = load_article(SourceFile(path=path, root=tmp_path, article_id="geneva.md"))
    meta = article.metadata
    assert meta.title == "Ceasefire talks resume in Geneva"
    assert meta.publisher == "Example Gazette"
    assert meta.author == "Ana Ruiz, Ben Cole"
    assert meta.published == "2024-03-05"
    assert meta.source == "https://example.org/geneva"
    assert meta.license == "CC BY 4.0"
    assert meta.excerpt is True
    assert article.article_id == "geneva.md"
    assert article.path == str(path)
    assert article.content_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert article.text == (
        "# A different heading\n\nDelegations met on Monday.\n\nThe second   paragraph keeps   its spacing."
    )
    assert "title:" not in article.text and "\r" not in article.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("null", None),
        ("", None),
        ("2023-12-31", "2023-12-31"),
        ('"2023-12-31"', "2023-12-31"),
        ("2023-12-31T22:15:00Z", "2023-12-31"),
        ('"2023-12-31T22:15:00+02:00"', "2023-12-31"),
    ],
)
def test_markdown_published_values(tmp_path: Path, value: str, expected: str | None) -> None:
    path = _write(tmp_path / "a.md", f"---\ntitle: T\npublished: {value}\n---\nBody text.\n")
    assert load_article(_source(path)).metadata.published == expected


@pytest.mark.parametrize("value", ['"05/03/2024"', "2024", '"March 2024"', '"2024-02-30"', '"20240305"'])
def test_markdown_bad_published_is_rejected(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path / "a.md", f"---\ntitle: T\npublished: {value}\n---\nBody text.\n")
    err = _load_error(path)
    assert err.reason.startswith("front matter: 'published' must be an ISO date (YYYY-MM-DD) or null, got ")


def test_markdown_impossible_yaml_date_is_a_load_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.md", "---\ntitle: T\npublished: 2024-02-30\n---\nBody text.\n")
    assert "front matter" in _load_error(path).reason


def test_markdown_front_matter_defaults_and_title_fallback(tmp_path: Path) -> None:
    path = _write(tmp_path / "notes.md", "---\npublisher: P\n---\n\nSome intro.\n\n## The *Real* Title\n\nMore.\n")
    meta = load_article(_source(path)).metadata
    assert meta.title == "The *Real* Title"
    assert meta.publisher == "P"
    assert (meta.author, meta.published, meta.source, meta.license, meta.excerpt) == (None, None, None, None, False)


def test_markdown_without_front_matter(tmp_path: Path) -> None:
    text = "\ufeff```\n# not a heading\n```\n\n# [Talks](https://x.org) in Oslo #\r\n\r\nBody   stays.\n\n---\n"
    path = _write(tmp_path / "oslo.markdown", text)
    article = load_article(_source(path))
    assert article.metadata.title == "Talks in Oslo"
    assert article.metadata.publisher is None
    assert article.text == "```\n# not a heading\n```\n\n# [Talks](https://x.org) in Oslo #\n\nBody   stays.\n\n---"


def test_markdown_setext_heading_and_stem_fallback(tmp_path: Path) -> None:
    setext = _write(tmp_path / "s.md", "Peace Accord Signed\n===================\n\nText.\n")
    assert load_article(_source(setext)).metadata.title == "Peace Accord Signed"
    plain = _write(tmp_path / "no-heading.md", "Just a paragraph without any heading.\n")
    assert load_article(_source(plain)).metadata.title == "no-heading"


def test_markdown_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.md", "---\ntitle: ok\nauthor: [unclosed\n---\nBody.\n")
    err = _load_error(path)
    assert err.reason.startswith("front matter is not valid YAML (line ")
    line = int(err.reason.split("(line ")[1].split(":")[0])
    assert 3 <= line <= 5  # the problem is on the 'author' line or where the parser gave up, not line 1


def test_markdown_front_matter_not_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path / "list.md", "---\n- a\n- b\n---\nBody.\n")
    assert "front matter must be a mapping" in _load_error(path).reason


def test_markdown_unclosed_front_matter(tmp_path: Path) -> None:
    path = _write(tmp_path / "open.md", "---\ntitle: T\n\nBody without a closing line.\n")
    assert "never closed" in _load_error(path).reason


def test_markdown_empty_body_after_front_matter(tmp_path: Path) -> None:
    path = _write(tmp_path / "hollow.md", "---\ntitle: T\n---\n\n   \n")
    assert _load_error(path).reason == "no text after the front matter"


# --------------------------------------------------------------------------------------------------------------------
# Plain text


def test_plain_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "memo.txt", "\n\n  Memo on the   truce\r\nLine two.\r\n\r\n\tIndented para.\n")
    article = load_article(_source(path))
    assert article.metadata.title == "Memo on the truce"
    assert article.metadata.published is None and article.metadata.author is None
    assert article.text == "Memo on the   truce\nLine two.\n\n\tIndented para."


def test_plain_text_long_first_line_is_truncated(tmp_path: Path) -> None:
    path = _write(tmp_path / "long.txt", "x" * 500 + "\nrest\n")
    title = load_article(_source(path)).metadata.title
    assert len(title) <= 200 and title.startswith("xxx")


# --------------------------------------------------------------------------------------------------------------------
# HTML

HTML_PAGE = """<!DOCTYPE html>
<html><head>
<title>Fallback title | Site</title>
<meta property="og:title" content="Talks in  Doha">
<meta property="og:site_name" content="World Desk">
<meta name="author" content="Lena Park">
<meta property="article:published_time" content="2024-06-01T09:30:00+03:00">
<link rel="canonical" href="https://worlddesk.example/doha">
<style>.x { color: red }</style>
<script>var SECRET_SCRIPT = 1;</script>
</head>
<body>
<header><a href="/">HEADER_LINK Home</a></header>
<nav><ul><li>NAV_ITEM World</li><li>NAV_ITEM Sport</li></ul></nav>
<div role="navigation">ROLE_NAV breadcrumbs</div>
<main>
<article>
  <h1>Talks in Doha</h1>
  <p>Negotiators   met
     on <b>Saturday</b> to discuss a
     ceasefire.</p>
  <p>A second paragraph.<br>After a break.</p>
  <aside>ASIDE_PROMO Subscribe now</aside>
  <ul><li>First point</li><li>Second point</li></ul>
  <blockquote>"We are close," an envoy said.</blockquote>
  <pre>code   keeps
  spacing</pre>
  <table><tr><td>Cell A</td><td>Cell B</td></tr></table>
  <!-- COMMENT_TEXT -->
  <form>FORM_TEXT <input name="q"></form>
</article>
<div class="related">RELATED_OUTSIDE_ARTICLE</div>
</main>
<footer>FOOTER_TEXT Copyright</footer>
<noscript>NOSCRIPT_TEXT</noscript>
</body></html>
"""


def test_html_main_text_only(tmp_path: Path) -> None:
    path = _write(tmp_path / "doha.html", HTML_PAGE)
    article = load_article(_source(path))
    for junk in (
        "SECRET_SCRIPT",
        "color: red",
        "HEADER_LINK",
        "NAV_ITEM",
        "ROLE_NAV",
        "ASIDE_PROMO",
        "FORM_TEXT",
        "FOOTER_TEXT",
        "NOSCRIPT_TEXT",
        "COMMENT_TEXT",
        "RELATED_OUTSIDE_ARTICLE",
    ):
        assert junk not in article.text, junk
    blocks = article.text.split("\n\n")
    assert blocks[:5] == [
        "Talks in Doha",
        "Negotiators met on Saturday to discuss a ceasefire.",
        "A second paragraph.\nAfter a break.",
        "First point",
        "Second point",
    ]
    assert '"We are close," an envoy said.' in blocks
    assert "code   keeps\n  spacing" in blocks
    assert "Cell A Cell B" in blocks

    meta = article.metadata
    assert meta.title == "Talks in Doha"
    assert meta.publisher == "World Desk"
    assert meta.author == "Lena Park"
    assert meta.published == "2024-06-01"
    assert meta.source == "https://worlddesk.example/doha"


def test_html_without_article_uses_body_and_fallback_metadata(tmp_path: Path) -> None:
    page = (
        "<html><head><title> Plain   page </title></head><body>"
        "<nav>NAV</nav><div>Loose text run<p>Para</p>tail run</div>"
        '<p>Dated <time datetime="2022-11-09">9 Nov</time></p>'
        '<meta property="og:url" content="https://x.example/p"></body></html>'
    )
    article = load_article(_source(_write(tmp_path / "plain.htm", page)))
    assert article.text == "Loose text run\n\nPara\n\ntail run\n\nDated 9 Nov"
    assert article.metadata.title == "Plain page"
    assert article.metadata.published == "2022-11-09"
    assert article.metadata.source == "https://x.example/p"


def test_html_invalid_dates_are_ignored_and_h1_title(tmp_path: Path) -> None:
    page = '<html><head><meta name="date" content="yesterday"></head><body><h1>Heading</h1><p>x</p></body></html>'
    meta = load_article(_source(_write(tmp_path / "d.html", page))).metadata
    assert meta.published is None
    assert meta.title == "Heading"


def test_html_declared_legacy_charset_is_honoured(tmp_path: Path) -> None:
    page = '<html><head><meta charset="windows-1252"></head><body><p>Caf\u00e9 talks</p></body></html>'
    path = _write(tmp_path / "legacy.html", page.encode("cp1252"))
    assert load_article(_source(path)).text == "Caf\u00e9 talks"


def test_html_with_only_navigation_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "nav.html", "<html><body><nav>Home</nav><script>x()</script></body></html>")
    assert "no readable text" in _load_error(path).reason


# --------------------------------------------------------------------------------------------------------------------
# PDF


def test_pdf_text_and_title(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "report.pdf", ["Peace process report", "Second line of findings"], title="Annual Report")
    article = load_article(_source(path))
    assert "Peace process report" in article.text
    assert "Second line of findings" in article.text
    assert article.metadata.title == "Annual Report"
    assert article.content_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_pdf_pages_joined_and_stem_title(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in ("Page one words", "Page two words"):
        pdf.add_page()
        pdf.cell(0, 10, text)
    path = tmp_path / "two-pages.pdf"
    path.write_bytes(bytes(pdf.output()))
    article = load_article(_source(path))
    assert article.text == "Page one words\n\nPage two words"
    assert article.metadata.title == "two-pages"


def test_pdf_without_text(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "scan.pdf", None)
    assert _load_error(path).reason == "PDF has no extractable text (a scanned image? run OCR first)"


def test_pdf_encrypted(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "locked.pdf", ["Secret"], user_password="letmein")
    assert _load_error(path).reason.startswith("encrypted PDF")


def test_pdf_corrupt(tmp_path: Path) -> None:
    good = _pdf(tmp_path / "good.pdf", ["Some text"]).read_bytes()
    truncated = _write(tmp_path / "truncated.pdf", good[: len(good) // 3])
    assert _load_error(truncated).reason.startswith("not a readable PDF")
    fake = _write(tmp_path / "fake.pdf", "This is not a PDF at all.\n")
    assert _load_error(fake).reason.startswith("not a readable PDF: ")


# --------------------------------------------------------------------------------------------------------------------
# Bad input common to all formats


def test_file_over_size_limit(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.txt", "a" * 101)
    assert _load_error(path, max_bytes=100).reason == "file is 101 bytes, over the 100-byte limit"
    assert load_article(_source(path), max_bytes=101).text == "a" * 101


@pytest.mark.parametrize("name", ["empty.md", "empty.txt", "empty.html", "empty.pdf", "blank.md", "bom.txt"])
def test_empty_files(tmp_path: Path, name: str) -> None:
    content = {"blank.md": "  \n\t\n", "bom.txt": "\ufeff\n"}.get(name, "")
    assert _load_error(_write(tmp_path / name, content)).reason == "empty file"


@pytest.mark.parametrize("name", ["image.md", "image.txt", "image.html"])
def test_binary_content_in_text_format(tmp_path: Path, name: str) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    assert _load_error(_write(tmp_path / name, png)).reason == "binary file, not text"


def test_non_utf8_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "latin1.md", "# Caf\u00e9\n".encode("latin-1"))
    assert _load_error(path).reason == "not valid UTF-8 (invalid byte 0xe9 at offset 5); re-save the file as UTF-8"


def test_utf16_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "wide.txt", "Hello".encode("utf-16"))
    assert "UTF-16" in _load_error(path).reason


def test_bom_is_removed(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.md", "\ufeff---\ntitle: With BOM\n---\nBody.\n")
    article = load_article(_source(path))
    assert article.metadata.title == "With BOM"
    assert article.text == "Body."


def test_unreadable_file(tmp_path: Path) -> None:
    as_dir = tmp_path / "folder.md"
    as_dir.mkdir()
    assert _load_error(as_dir).reason == "Is a directory"
    missing = tmp_path / "gone.txt"
    assert _load_error(missing).reason == "No such file or directory"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_permission_denied(tmp_path: Path) -> None:
    path = _write(tmp_path / "secret.txt", "text")
    path.chmod(0)
    try:
        assert _load_error(path).reason == "Permission denied"
    finally:
        path.chmod(0o644)


def test_load_error_pickles() -> None:
    err = pickle.loads(pickle.dumps(LoadError("/x/a.md", "empty file")))
    assert (err.path, err.reason, str(err)) == ("/x/a.md", "empty file", "/x/a.md: empty file")


# --------------------------------------------------------------------------------------------------------------------
# Discovery


def test_discover_files(tmp_path: Path) -> None:
    corpus = (tmp_path / "corpus").resolve()
    _write(corpus / "b.md", "# B\n")
    _write(corpus / "a.txt", "A\n")
    _write(corpus / "README.md", "# About this corpus\n")
    _write(corpus / "sub" / "readme.MD", "docs\n")
    _write(corpus / ".hidden.md", "# hidden\n")
    _write(corpus / ".git" / "x.md", "# in hidden dir\n")
    _write(corpus / "picture.png", b"\x89PNG")
    _write(corpus / "sub" / "x.md", "# X\n")
    _write(corpus / "sub" / "page.HTML", "<p>x</p>")
    _write(corpus / "sub" / "deeper" / "doc.pdf", b"%PDF-1.4")
    unsupported = _write(tmp_path / "notes.docx", "x")
    single = _write(tmp_path / "elsewhere" / "one.md", "# One\n")
    missing = tmp_path / "nope"

    sources, errors = discover_files([corpus, single, missing, unsupported])

    assert [s.article_id for s in sources] == [
        "corpus/a.txt",
        "corpus/b.md",
        "corpus/sub/deeper/doc.pdf",
        "corpus/sub/page.HTML",
        "corpus/sub/x.md",
        "elsewhere/one.md",
    ]
    by_id = {s.article_id: s for s in sources}
    assert by_id["corpus/sub/x.md"].path == corpus / "sub" / "x.md"
    assert by_id["corpus/sub/x.md"].root == corpus
    assert by_id["elsewhere/one.md"].root == single.parent
    assert all(s.path.is_absolute() and s.root.is_absolute() for s in sources)

    assert [e.path for e in errors] == [str(missing), str(unsupported)]
    assert errors[0].reason == "no such file or directory"
    assert errors[1].reason == f"unsupported file type '.docx' (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
    assert str(errors[1]).startswith(f"{unsupported}: unsupported file type '.docx'")


def test_discover_relative_paths_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "c" / "x.md", "# X\n")
    monkeypatch.chdir(tmp_path)
    sources, errors = discover_files([Path("c"), Path("c/x.md")])
    assert errors == []
    assert len(sources) == 1  # the same file named twice is loaded once
    assert sources[0].path == (tmp_path / "c" / "x.md").resolve() and sources[0].article_id == "c/x.md"
    assert sources[0].root == (tmp_path / "c").resolve()


def test_discover_roots_are_resolved_through_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real"
    _write(real / "x.md", "# X\n")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    sources, errors = discover_files([link, link / "x.md"])
    assert errors == []
    assert [(s.root, s.article_id) for s in sources] == [(real.resolve(), "real/x.md")]


def test_discover_duplicate_article_ids_are_reported(tmp_path: Path) -> None:
    first = _write(tmp_path / "one" / "docs" / "a.md", "# A\n")
    second = _write(tmp_path / "two" / "docs" / "a.md", "# A again\n")
    sources, errors = discover_files([tmp_path / "one" / "docs", tmp_path / "two" / "docs"])
    assert [s.path for s in sources] == [first]
    assert [e.path for e in errors] == [str(second)]
    assert "already used" in errors[0].reason


def test_discovered_files_load_end_to_end(tmp_path: Path) -> None:
    _write(tmp_path / "sub" / "x.md", "---\ntitle: X\n---\nHello.\n")
    sources, errors = discover_files([tmp_path])
    assert errors == []
    article = load_article(sources[0])
    assert (article.article_id, article.text, article.metadata.title) == (f"{tmp_path.name}/sub/x.md", "Hello.", "X")
