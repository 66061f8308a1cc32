"""Turn files on disk into ``Article`` records: find them, read them, and refuse bad input with one clear message.

Every problem with a file's content surfaces as a ``LoadError`` naming the file and the reason, so an ingest run
can report all broken files at once instead of dying on the first traceback.
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import io
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, PreformattedString, Tag

from assistant.models import Article, ArticleMetadata

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".pdf"})
DEFAULT_MAX_BYTES = 20_000_000

_MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})
_MAX_TITLE_CHARS = 200
_FRONT_MATTER_FIELDS = ("title", "publisher", "author", "source", "license")
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATE_PREFIX_RE = re.compile(r"\s*(\d{4}-\d{2}-\d{2})(?:$|[Tt ])")

# Hostile input: limits that keep one crafted file from taking minutes or gigabytes (all far above real articles).
MAX_FRONT_MATTER_CHARS = 65_536
MAX_FRONT_MATTER_VALUES = 10_000  # values after expanding YAML aliases: a "billion laughs" expands to 10**9
MAX_PDF_PAGES = 2_000
_MAX_HEADING_CHARS = 1_000  # a heading is cleaned (links, emphasis) only this far: titles keep 200 characters
_BINARY_CONTROL_SHARE = 0.10  # text whose first 64 KiB is more than 10% control characters is binary
# Control characters (C0 but tab and newline, DEL, C1 but NEL) and lone surrogates are never text worth indexing:
# removed from every article. Vertical tab, form feed, NEL and the Unicode line separators become newlines.
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]+")
_LINE_BREAKS = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"})
_BINARY_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# libyaml's parser when PyYAML was built with it (about ten times faster on large front matter), the same rules.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})


class LoadError(Exception):
    """A file that cannot become an article; ``str()`` is the one line shown to the user."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Keep the two-argument constructor picklable (errors may cross process boundaries)."""
        return (self.__class__, (self.path, self.reason))


@dataclass(frozen=True)
class SourceFile:
    """A file to load, with the root it was found under, because the article id must not depend on the cwd."""

    path: Path
    root: Path
    article_id: str


# --------------------------------------------------------------------------------------------------------------------
# Discovery


def _supported_list() -> str:
    return ", ".join(sorted(SUPPORTED_SUFFIXES))


def _is_corpus_readme(name: str) -> bool:
    """README files document the corpus; indexing them would let the assistant cite the docs as an article."""
    stem, _, suffix = name.lower().rpartition(".")
    return stem == "readme" and f".{suffix}" in _MARKDOWN_SUFFIXES


def _article_id(root: Path, path: Path) -> str:
    """Stable id: the folder's name plus the path inside it ("corpus/sub/a.md"), the same whether the folder or
    the file alone was ingested, and distinct for same-named files in differently named folders."""
    return f"{root.name}/{path.relative_to(root).as_posix()}"


def _is_utf8(text: str) -> bool:
    """False for names the file system gave back with undecodable bytes (surrogate escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_link(root: Path, link: Path, kind: str, errors: list[LoadError]) -> bool:
    """A symbolic link inside a walked folder is followed only when it points inside that folder: a link to
    ``/etc/passwd`` (or a folder outside) must not pull outside text into the corpus. Reports the others."""
    try:
        target = link.resolve()
    except (OSError, RuntimeError):  # a loop of links
        errors.append(LoadError(link, f"symbolic link that cannot be resolved (a loop?); {kind} skipped"))
        return False
    if not target.is_relative_to(root):
        errors.append(LoadError(link, f"symbolic link to a {kind} outside the folder {root}; skipped"))
        return False
    return True


def _walk_folder(root: Path, errors: list[LoadError]) -> list[SourceFile]:
    """Sorted, recursive listing of a folder's supported, non-hidden files."""

    def on_error(exc: OSError) -> None:
        errors.append(LoadError(exc.filename or root, exc.strerror or str(exc)))

    found: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):  # never descends into linked folders
        for name in dirnames:
            if not name.startswith(".") and os.path.islink(os.path.join(dirpath, name)):
                _check_link(root, Path(dirpath) / name, "folder", errors)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or _is_corpus_readme(name):
                continue
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            path = Path(dirpath) / name
            if os.path.islink(path) and not _check_link(root, path, "file", errors):
                continue
            article_id = _article_id(root, path)
            if not _is_utf8(article_id):
                errors.append(LoadError(path, "the file or folder name is not valid UTF-8; rename it"))
                continue
            found.append(SourceFile(path=path, root=root, article_id=article_id))
    found.sort(key=lambda s: s.article_id)
    return found


def discover_files(paths: Sequence[Path]) -> tuple[list[SourceFile], list[LoadError]]:
    """Expand the user's paths into loadable files, collecting every problem instead of stopping at the first."""
    sources: list[SourceFile] = []
    errors: list[LoadError] = []
    seen_paths: set[Path] = set()
    seen_ids: dict[str, Path] = {}

    for given in paths:
        path = Path(os.path.abspath(os.path.expanduser(given)))
        if path.is_dir():
            # Roots are resolved (symlinks too) so that they compare equal to ``Path.resolve()`` elsewhere.
            candidates = _walk_folder(path.resolve(), errors)
        elif path.is_file():
            suffix = path.suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                shown = f"'{suffix}'" if suffix else "(no suffix)"
                errors.append(LoadError(path, f"unsupported file type {shown} (supported: {_supported_list()})"))
                continue
            root = path.parent.resolve()
            candidates = [SourceFile(path=root / path.name, root=root, article_id=_article_id(root, root / path.name))]
        elif os.path.lexists(path) and not path.exists():
            errors.append(LoadError(path, "no such file or directory (broken symbolic link)"))
            continue
        elif path.exists():
            errors.append(LoadError(path, "not a regular file or directory"))
            continue
        else:
            errors.append(LoadError(path, "no such file or directory"))
            continue

        for source in candidates:
            if source.path in seen_paths:
                continue
            seen_paths.add(source.path)
            other = seen_ids.get(source.article_id)
            if other is not None:
                errors.append(LoadError(source.path, f"article id '{source.article_id}' is already used by {other}"))
                continue
            seen_ids[source.article_id] = source.path
            sources.append(source)
    return sources, errors


# --------------------------------------------------------------------------------------------------------------------
# Reading and decoding


def _check_regular(path: Path, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise LoadError(path, "Is a directory")
    if not stat.S_ISREG(mode):
        raise LoadError(path, "not a regular file (a pipe, socket or device); skipped")


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read the whole file, refusing oversized ones before they are pulled into memory, and anything that is not a
    regular file before opening it (reading a FIFO would block forever, a device would never end)."""
    try:
        _check_regular(path, path.stat().st_mode)
        # O_NONBLOCK: should the path be swapped for a FIFO after the check, open() still returns at once.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            _check_regular(path, info.st_mode)
            if info.st_size > max_bytes:
                raise LoadError(path, f"file is {info.st_size} bytes, over the {max_bytes}-byte limit")
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise LoadError(path, exc.strerror or str(exc)) from exc
    if len(raw) > max_bytes:  # the file grew between stat() and read()
        raise LoadError(path, f"file is over the {max_bytes}-byte limit")
    return raw


def _declared_html_charset(raw: bytes) -> str | None:
    """The charset an HTML page declares, so legacy-encoded pages saved from the web still load."""
    match = re.search(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", raw[:4096], re.IGNORECASE)
    if match is None:
        return None
    name = match.group(1).decode("ascii", "replace")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decode_text(path: Path, raw: bytes, *, allow_declared_charset: bool = False) -> str:
    """Strict UTF-8 decoding: silently garbled text would be indexed and quoted back to users."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LoadError(path, "UTF-16 text, not UTF-8; re-save the file as UTF-8")
    if b"\x00" in raw:
        raise LoadError(path, "binary file, not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        charset = _declared_html_charset(raw) if allow_declared_charset else None
        decoded: str | None = None
        if charset is not None and charset != "utf-8":
            try:
                decoded = raw.decode(charset)
            except (UnicodeDecodeError, LookupError):
                decoded = None
        if decoded is None:
            reason = f"not valid UTF-8 (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start})"
            raise LoadError(path, f"{reason}; re-save the file as UTF-8") from exc
        text = decoded
    sample = text[:65_536]
    controls = len(_BINARY_CONTROL_RE.findall(sample))
    if controls > _BINARY_CONTROL_SHARE * len(sample):
        raise LoadError(path, f"binary file, not text ({controls} control characters in the first {len(sample)})")
    text = text.removeprefix("\ufeff")
    return _clean_text(text.replace("\r\n", "\n"))


# --------------------------------------------------------------------------------------------------------------------
# Small shared helpers


def _clean_text(text: str) -> str:
    """Text without control characters or lone surrogates, with every kind of line break as ``\\n``."""
    return _CONTROL_RE.sub("", text.replace("\r\n", "\n").translate(_LINE_BREAKS))


def _has_visible_text(text: str) -> bool:
    """True when ``text`` has a character a reader could see (not only spaces, zero-width or direction marks)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES for ch in text)


def _clean_field(value: str | None) -> str | None:
    if value is None:
        return None
    return " ".join(_clean_text(value).split()) or None


def _clean_metadata(path: Path, metadata: ArticleMetadata) -> ArticleMetadata:
    """Metadata as safe, one-line text; a title left empty by the cleaning falls back to the file name."""
    title = _clean_field(metadata.title)
    return dataclasses.replace(
        metadata,
        title=_truncate_title(title if title and _has_visible_text(title) else path.stem),
        publisher=_clean_field(metadata.publisher),
        author=_clean_field(metadata.author),
        published=_clean_field(metadata.published),
        source=_clean_field(metadata.source),
        license=_clean_field(metadata.license),
    )


def _detail(exc: BaseException) -> str:
    """An exception's message for a one-line reason: control characters and line breaks removed, at most 200."""
    return _clean_field(str(exc)[:200]) or type(exc).__name__


def _describe(value: Any) -> str:
    """A short, safe description of a front matter value for an error message (never a huge or nested repr)."""
    if value is None or isinstance(value, (bool, float)):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else "a very large number"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "…")
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a value of type {type(value).__name__}"


def _truncate_title(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= _MAX_TITLE_CHARS else title[: _MAX_TITLE_CHARS - 1].rstrip() + "…"


def _strict_iso_date(value: str) -> str | None:
    """``YYYY-MM-DD`` or a full ISO datetime, reduced to its date; None if it is anything else."""
    text = value.strip()
    try:
        if _ISO_DATE_RE.fullmatch(text):
            return date.fromisoformat(text).isoformat()
        if len(text) > 10 and _ISO_DATE_RE.match(text) and text[10] in "Tt ":
            return datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return None
    return None


def _date_prefix(value: str) -> str | None:
    """Lenient date for HTML metadata: the valid ``YYYY-MM-DD`` a timestamp starts with, if any."""
    match = _ISO_DATE_PREFIX_RE.match(value)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1)).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------------------------
# Markdown


def _split_front_matter(path: Path, text: str) -> tuple[str | None, str]:
    """Separate a leading ``---`` block from the body; ``None`` when the file has no front matter."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None, text
    size = 0
    for index in range(1, len(lines)):
        if lines[index].rstrip() == "---":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :])
        size += len(lines[index]) + 1
        if size > MAX_FRONT_MATTER_CHARS:
            closed = any(line.rstrip() == "---" for line in lines[index + 1 :])
            if not closed:
                break
            raise LoadError(
                path, f"front matter is over the {MAX_FRONT_MATTER_CHARS}-character limit (metadata, not the article)"
            )
    raise LoadError(path, "front matter opened with '---' on line 1 is never closed by a '---' line")


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """How many values the YAML graph holds once aliases are expanded (stops counting past ``limit``); iterative
    and memoized, so neither deep nesting nor a "billion laughs" of aliases costs more than the graph's size."""
    sizes: dict[int, int | None] = {}  # None: on the current path (a recursive alias counts once)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            children = []
        if not done:
            if id(node) in sizes:
                continue
            sizes[id(node)] = None
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        size = 1 + sum(sizes.get(id(child)) or 0 for child in children)
        if size > limit:
            return size
        sizes[id(node)] = size
    return sizes.get(id(root)) or 0


def _parse_yaml(path: Path, block: str) -> dict[str, Any]:
    """``yaml.safe_load`` in two steps, so the node graph is measured before it is turned into Python objects:
    only plain YAML types (no ``!!python`` tags), at most ``MAX_FRONT_MATTER_VALUES`` values after aliases."""
    loader = _YAML_LOADER(block)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, MAX_FRONT_MATTER_VALUES) > MAX_FRONT_MATTER_VALUES:
            raise LoadError(
                path,
                f"front matter expands to more than {MAX_FRONT_MATTER_VALUES} values "
                "(YAML aliases repeated like a 'billion laughs' bomb?)",
            )
        data = loader.construct_document(node) if node is not None else None
    except RecursionError as exc:
        raise LoadError(path, "front matter is nested too deeply to be metadata") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        where = f"line {mark.line + 2}: " if mark is not None else ""  # +1 for 0-based, +1 for the opening '---'
        raise LoadError(path, f"front matter is not valid YAML ({where}{problem})") from exc
    except (ValueError, OverflowError) as exc:  # e.g. an impossible date such as 2024-02-30, converted eagerly
        raise LoadError(path, f"front matter has an invalid value ({str(exc)[:200]})") from exc
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LoadError(path, f"front matter must be a mapping of 'key: value' lines, got {type(data).__name__}")
    return data


def _scalar_text(value: Any) -> str | None:
    """A plain YAML scalar as text; None for anything else (mappings, binary, sets, huge numbers)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bool | float) or (isinstance(value, int) and value.bit_length() <= 64):
        return str(value)
    return None


def _text_field(path: Path, data: dict[str, Any], key: str) -> str | None:
    """A front matter field as text; lists (several authors) are joined, mappings are a mistake worth reporting."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        items = [_scalar_text(item) for item in value if item is not None]
        if any(item is None for item in items):
            raise LoadError(path, f"front matter: '{key}' must be text or a list of text")
        text = ", ".join(item for item in items if item is not None)
    else:
        scalar = _scalar_text(value)
        if scalar is None:
            raise LoadError(path, f"front matter: '{key}' must be text, got {_describe(value)}")
        text = scalar
    return _clean_field(text)


def _published_field(path: Path, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        if not value.strip():
            return None
        parsed = _strict_iso_date(value)
        if parsed is not None:
            return parsed
    raise LoadError(path, f"front matter: 'published' must be an ISO date (YYYY-MM-DD) or null, got {_describe(value)}")


def _excerpt_field(path: Path, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1", "false", "no", "0", ""}:
        return value.strip().lower() in {"true", "yes", "1"}
    raise LoadError(path, f"front matter: 'excerpt' must be true or false, got {_describe(value)}")


_ATX_OPEN_RE = re.compile(r" {0,3}#{1,6}(?=[ \t]|$)")
_SETEXT_RE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")
_MD_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _atx_heading(line: str) -> str | None:
    """The text of an ATX heading line (``## Title ##``), "" for an empty one, None when the line is not one.

    String operations rather than one backtracking regex, which took quadratic time on long lines of spaces."""
    opening = _ATX_OPEN_RE.match(line)
    if opening is None:
        return None
    rest = line[opening.end() :].strip(" \t")
    closed = rest.rstrip("#")
    if closed != rest and (not closed or closed[-1] in " \t"):  # an optional closing run of '#'
        rest = closed.rstrip(" \t")
    return rest


def _clean_heading(text: str) -> str:
    """Heading text without link syntax or wrapping emphasis, as a reader would see it."""
    text = _MD_LINK_RE.sub(r"\1", " ".join(text.split())[:_MAX_HEADING_CHARS])
    return text.strip().strip("*_`").strip()


def _first_markdown_heading(body: str) -> str | None:
    """The first ATX (``# Title``) or setext (``Title`` / ``===``) heading outside code fences."""
    in_fence = False
    previous = ""
    for line in body.split("\n"):
        if _FENCE_RE.match(line):
            in_fence = not in_fence
            previous = ""
            continue
        if in_fence:
            continue
        atx = _atx_heading(line)
        if atx is not None:
            heading = _clean_heading(atx)
            if heading:
                return heading
        elif previous.strip() and _SETEXT_RE.match(line) and _atx_heading(previous) is None:
            heading = _clean_heading(previous)
            if heading:
                return heading
        previous = line
    return None


def _load_markdown(path: Path, text: str) -> tuple[str, ArticleMetadata]:
    block, body = _split_front_matter(path, text)
    body = body.strip()
    if block is None:
        if not body:
            raise LoadError(path, "empty file")
        title = _first_markdown_heading(body) or path.stem
        return body, ArticleMetadata(title=_truncate_title(title))

    data = _parse_yaml(path, block)
    if not body:
        raise LoadError(path, "no text after the front matter")
    fields = {key: _text_field(path, data, key) for key in _FRONT_MATTER_FIELDS}
    title = fields["title"] or _truncate_title(_first_markdown_heading(body) or path.stem)
    metadata = ArticleMetadata(
        title=title,
        publisher=fields["publisher"],
        author=fields["author"],
        published=_published_field(path, data.get("published")),
        source=fields["source"],
        license=fields["license"],
        excerpt=_excerpt_field(path, data.get("excerpt")),
    )
    return body, metadata


# --------------------------------------------------------------------------------------------------------------------
# Plain text


def _load_text(path: Path, text: str) -> tuple[str, ArticleMetadata]:
    body = text.strip()
    if not body:
        raise LoadError(path, "empty file")
    first_line = next((line for line in body.split("\n") if line.strip()), "")
    return body, ArticleMetadata(title=_truncate_title(first_line) or path.stem)


# --------------------------------------------------------------------------------------------------------------------
# HTML

_DROP_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "svg", "iframe")
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo"})
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "main",
        "ol",
        "p",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
    }
)
_CELL_TAGS = frozenset({"td", "th"})


def _attr(tag: Tag, name: str) -> str | None:
    """An attribute as one string (bs4 returns lists for multi-valued attributes such as ``rel``)."""
    value = tag.get(name)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return None


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _meta_content(soup: BeautifulSoup, key: str) -> str | None:
    """Content of ``<meta property=key>`` or ``<meta name=key>`` (sites use either), case-insensitively."""
    for tag in soup.find_all("meta"):
        if not isinstance(tag, Tag):
            continue
        names = {(_attr(tag, "property") or "").strip().lower(), (_attr(tag, "name") or "").strip().lower()}
        if key in names:
            content = _collapse(_attr(tag, "content") or "")
            if content:
                return content
    return None


def _html_title(soup: BeautifulSoup) -> str | None:
    og_title = _meta_content(soup, "og:title")
    if og_title:
        return og_title
    for name in ("title", "h1"):
        tag = soup.find(name)
        if isinstance(tag, Tag):
            text = _collapse(tag.get_text(" "))
            if text:
                return text
    return None


def _html_published(soup: BeautifulSoup) -> str | None:
    for key in ("article:published_time", "date"):
        content = _meta_content(soup, key)
        parsed = _date_prefix(content) if content else None
        if parsed:
            return parsed
    for tag in soup.find_all("time"):
        if isinstance(tag, Tag):
            parsed = _date_prefix(_attr(tag, "datetime") or "")
            if parsed:
                return parsed
    return None


def _html_canonical(soup: BeautifulSoup) -> str | None:
    for tag in soup.find_all("link"):
        if isinstance(tag, Tag) and "canonical" in (_attr(tag, "rel") or "").lower().split():
            href = (_attr(tag, "href") or "").strip()
            if href:
                return href
    return _meta_content(soup, "og:url")


def _is_dropped_role(tag: Tag) -> bool:
    return bool(set((_attr(tag, "role") or "").lower().split()) & _DROP_ROLES)


def _remove_boilerplate(soup: BeautifulSoup) -> None:
    """Drop navigation, chrome and code so only what the author wrote is indexed."""
    doomed = list(soup.find_all(_DROP_TAGS))
    doomed += [tag for tag in soup.find_all(True) if isinstance(tag, Tag) and _is_dropped_role(tag)]
    for tag in doomed:
        if isinstance(tag, Tag) and not tag.decomposed:
            tag.decompose()


def _html_blocks(root: Tag) -> list[str]:
    """Text of ``root`` as paragraphs: one per block element, inline whitespace collapsed, ``<pre>`` verbatim.

    Iterative rather than recursive so deeply nested pages cannot hit Python's recursion limit.
    """
    blocks: list[str] = []
    lines: list[list[str]] = [[]]

    def flush() -> None:
        text = "\n".join(t for t in (_collapse("".join(seg)) for seg in lines) if t)
        if text:
            blocks.append(text)
        lines[:] = [[]]

    stack: list[tuple[PageElement, bool]] = [(root, True)]
    while stack:
        node, entering = stack.pop()
        if isinstance(node, Tag):
            name = node.name.lower()
            if not entering:
                if name in _BLOCK_TAGS:
                    flush()
                elif name in _CELL_TAGS:
                    lines[-1].append(" ")
                continue
            if name == "br":
                lines.append([])
                continue
            if name == "pre":
                flush()
                verbatim = node.get_text().strip("\n")
                if verbatim.strip():
                    blocks.append(verbatim)
                continue
            if node.has_attr("hidden"):
                continue
            if name in _BLOCK_TAGS:
                flush()
            elif name in _CELL_TAGS:
                lines[-1].append(" ")
            stack.append((node, False))
            stack.extend((child, True) for child in reversed(node.contents))
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            lines[-1].append(str(node))
    flush()
    return blocks


def _content_roots(soup: BeautifulSoup) -> list[Tag]:
    """Where the article text lives, best guess first: the longest ``<article>``, then ``<main>``, then ``<body>``."""
    # Only outermost <article>s: a nested one's text is part of its parent's, and measuring every one of 5,000
    # nested articles would take quadratic time.
    articles: list[Tag] = []
    nested: set[int] = set()
    for found in soup.find_all("article"):
        if isinstance(found, Tag) and id(found) not in nested:
            articles.append(found)
            nested.update(id(inner) for inner in found.find_all("article"))
    articles.sort(key=lambda tag: len(tag.get_text(strip=True)), reverse=True)
    roots: list[Tag] = articles[:1]
    for name in ("main", "body"):
        tag = soup.find(name)
        if isinstance(tag, Tag):
            roots.append(tag)
    roots.append(soup)
    return roots


def _load_html(path: Path, text: str) -> tuple[str, ArticleMetadata]:
    if not text.strip():
        raise LoadError(path, "empty file")
    soup = BeautifulSoup(text, "lxml")
    metadata = ArticleMetadata(
        title=_truncate_title(_html_title(soup) or path.stem),
        publisher=_meta_content(soup, "og:site_name"),
        author=_meta_content(soup, "author"),
        published=_html_published(soup),
        source=_html_canonical(soup),
    )
    _remove_boilerplate(soup)
    for root in _content_roots(soup):
        blocks = _html_blocks(root)
        if blocks:
            return "\n\n".join(blocks).strip(), metadata
    raise LoadError(path, "no readable text in the HTML once navigation, scripts and styles are removed")


# --------------------------------------------------------------------------------------------------------------------
# PDF


def _load_pdf(path: Path, raw: bytes) -> tuple[str, ArticleMetadata]:
    from pypdf import PasswordType, PdfReader  # imported here: only PDF ingestion pays for it

    if b"%PDF-" not in raw[:1024]:
        raise LoadError(path, "not a readable PDF: no '%PDF-' header (is it really a PDF?)")
    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
    except Exception as exc:  # pypdf raises many types for damaged files
        raise LoadError(path, f"not a readable PDF: {_detail(exc)}") from exc

    if reader.is_encrypted:
        try:
            opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except Exception as exc:  # e.g. AES without a crypto library installed
            raise LoadError(path, f"encrypted PDF (cannot open it: {_detail(exc)})") from exc
        if not opened:
            raise LoadError(path, "encrypted PDF (needs a password; save an unencrypted copy)")

    try:
        count = len(reader.pages)
    except Exception as exc:
        raise LoadError(path, f"not a readable PDF: {_detail(exc)}") from exc
    if count > MAX_PDF_PAGES:  # also a page tree listing one page 100,000 times
        raise LoadError(path, f"PDF has {count} pages, over the {MAX_PDF_PAGES}-page limit")
    pages: list[str] = []
    try:
        for page in reader.pages:
            page_text = (page.extract_text() or "").replace("\r\n", "\n").replace("\r", "\n").strip()
            if page_text:
                pages.append(page_text)
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(path, f"not a readable PDF: {_detail(exc)}") from exc
    if not pages:
        raise LoadError(path, "PDF has no extractable text (a scanned image? run OCR first)")

    title: str | None = None
    try:
        info = reader.metadata
        title = _collapse(str(info.title)) if info is not None and info.title else None
    except Exception:  # damaged metadata should not cost us the text
        title = None
    return "\n\n".join(pages), ArticleMetadata(title=_truncate_title(title or path.stem))


# --------------------------------------------------------------------------------------------------------------------
# Entry point

_TEXT_LOADERS: dict[str, Callable[[Path, str], tuple[str, ArticleMetadata]]] = {
    **{suffix: _load_markdown for suffix in _MARKDOWN_SUFFIXES},
    ".txt": _load_text,
    **{suffix: _load_html for suffix in _HTML_SUFFIXES},
}


def load_article(source: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> Article:
    """Load one file as an ``Article``; any problem with the file becomes a ``LoadError`` (never another type)."""
    path = source.path
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = f"'{suffix}'" if suffix else "(no suffix)"
        raise LoadError(path, f"unsupported file type {shown} (supported: {_supported_list()})")

    raw = _read_bytes(path, max_bytes)
    if not raw.strip():
        raise LoadError(path, "empty file")

    try:
        if suffix == ".pdf":
            text, metadata = _load_pdf(path, raw)
        else:
            decoded = _decode_text(path, raw, allow_declared_charset=suffix in _HTML_SUFFIXES)
            text, metadata = _TEXT_LOADERS[suffix](path, decoded)
    except LoadError:
        raise
    except Exception as exc:  # a parser bug or pathological input must not abort a whole ingest run
        raise LoadError(path, f"could not parse the file ({type(exc).__name__}: {_detail(exc)})") from exc

    text = _clean_text(text).strip()
    if not _has_visible_text(text):
        raise LoadError(path, "no readable text (only spaces, control characters or invisible marks)")
    metadata = _clean_metadata(path, metadata)
    return Article(
        article_id=source.article_id,
        path=str(path),
        text=text,
        metadata=metadata,
        content_sha256=hashlib.sha256(raw).hexdigest(),
    )
