"""Library-level checks for files that arrive from outside (browser uploads): a safe name, a size limit, and an
atomic save that leaves nothing behind when it fails.

A file name from a client is never trusted. ``safe_upload_name`` accepts one plain name and refuses, with a message
that says why: paths and traversal (``../../etc/passwd.md``, ``/abs.md``, ``C:\\x.md``, ``a\\b.md``, and look-alike
slashes and dots that Unicode compatibility folding turns into real ones), NUL and other control characters,
invisible and bidirectional formatting characters (``evil\\u202edm.txt`` displays as ``evilTXT.md``), hidden
names, Windows device names (``CON.md``), trailing dots or spaces, names over ``MAX_NAME_BYTES``, unsupported types
and README files (which ingestion skips). ``save_upload`` writes to a hidden temporary file in the same folder,
checks that the loader can read it, then renames it into place, so a failed or interrupted upload leaves nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import unicodedata
from pathlib import Path

from ingest.loaders import SUPPORTED_SUFFIXES, LoadError, SourceFile, load_article

MAX_NAME_BYTES = 200  # file systems allow 255; room is left for the temporary name
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"com{i}" for i in "0123456789¹²³"}
    | {f"lpt{i}" for i in "0123456789¹²³"}
)
# Punctuation a file name may hold besides letters, digits, combining marks and the plain space.
_NAME_PUNCTUATION = frozenset("-_.,()[]+&'!@#~=")


class UploadError(ValueError):
    """An upload that was refused or could not be saved; ``str()`` is one line naming the file and the reason."""

    def __init__(self, filename: str, reason: str) -> None:
        self.filename = filename
        self.reason = reason
        super().__init__(f"{_shown(filename)}: {reason}")

    def __reduce__(self) -> tuple[object, ...]:
        return (self.__class__, (self.filename, self.reason))


def _shown(name: str) -> str:
    """The name quoted for a message: control and invisible characters escaped, long names cut."""
    cut = name if len(name) <= 80 else name[:80] + "…"
    return repr(cut) if cut.isprintable() else ascii(cut)


def _char_problem(char: str) -> str | None:
    """Why one character is not accepted in a file name, or None when it is."""
    if char == " " or char in _NAME_PUNCTUATION:
        return None
    category = unicodedata.category(char)
    if category[0] in "LN" or category in {"Mn", "Mc"}:
        return None
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    label = f"{code} {name}".strip()
    if category == "Cc":
        return f"a control character ({label})"
    if category in {"Cf", "Zl", "Zp", "Zs"}:
        return f"an invisible, special-space or text-direction character ({label})"
    return f"the character {char!r} ({label})"


def safe_upload_name(filename: str) -> str:
    """``filename`` itself (NFC-normalized) when it is one safe, plain file name of a supported type; otherwise
    ``UploadError`` saying why. The name is never rewritten into something else: a refused upload is renamed by
    the user, so what is stored is what they see."""
    if not isinstance(filename, str):
        raise UploadError(repr(filename), f"the file name must be text, not {type(filename).__name__}")
    name = unicodedata.normalize("NFC", filename)
    if not name.strip():
        raise UploadError(filename, "the file has no name")
    if "\x00" in name:
        raise UploadError(filename, "the file name contains a NUL byte")
    folded = unicodedata.normalize("NFKC", name)
    if any(sep in folded for sep in ("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UploadError(filename, "the file name contains a path; upload a plain name such as 'article.md'")
    if ".." in folded:
        raise UploadError(filename, "the file name contains '..'; upload a plain name such as 'article.md'")
    if name.startswith(".") or folded.startswith("."):
        raise UploadError(filename, "hidden file names (starting with '.') are not accepted")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise UploadError(filename, f"the file name is longer than {MAX_NAME_BYTES} bytes; shorten it")
    for char in name:
        problem = _char_problem(char)
        if problem is not None:
            raise UploadError(filename, f"the file name contains {problem}; rename the file")
    if name != name.strip(" ."):
        raise UploadError(filename, "the file name must not start or end with a space or a dot")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        raise UploadError(filename, f"the file name has no type suffix (supported: {_supported()})")
    if f".{suffix.lower()}" not in SUPPORTED_SUFFIXES:
        raise UploadError(filename, f"unsupported file type '.{suffix}' (supported: {_supported()})")
    device = unicodedata.normalize("NFKC", stem).split(".")[0].strip().lower()
    if device in _WINDOWS_RESERVED:
        raise UploadError(filename, f"'{stem.split('.')[0]}' is a reserved device name on Windows; rename the file")
    if unicodedata.normalize("NFKC", stem).lower() == "readme" and suffix.lower() in {"md", "markdown"}:
        raise UploadError(filename, "README files document a corpus and are not indexed by ingestion; rename the file")
    return name


def _supported() -> str:
    return ", ".join(sorted(SUPPORTED_SUFFIXES))


def safe_upload_path(upload_dir: Path, filename: str) -> Path:
    """Where ``filename`` is stored in ``upload_dir`` (absolute): the checked name, directly inside the folder.

    Raises ``UploadError`` for a bad name, and when the path would not be a plain file directly inside the
    resolved folder (an existing symbolic link or folder of that name)."""
    name = safe_upload_name(filename)
    folder = Path(upload_dir).resolve()
    target = folder / name
    if target.parent != folder or not target.resolve(strict=False).is_relative_to(folder):
        raise UploadError(filename, "refused: the file would be written outside the uploads folder")
    if target.is_symlink():
        raise UploadError(filename, "refused: a symbolic link of that name is in the uploads folder")
    if target.exists() and not target.is_file():
        raise UploadError(filename, "refused: something that is not a file has that name in the uploads folder")
    return target


def _size(n: int) -> str:
    return f"{n:,} bytes"


def save_upload(
    upload_dir: Path,
    filename: str,
    data: bytes,
    max_bytes: int,
    *,
    overwrite: bool = False,
    validate: bool = True,
) -> Path:
    """Store ``data`` as ``upload_dir/filename`` atomically and return that path; ``UploadError`` on any problem.

    Checks, in order, before anything is written: the name (``safe_upload_name``), emptiness and ``max_bytes``.
    Then the bytes go to a hidden temporary file in the same folder (ingestion skips hidden files), are flushed
    to disk, and, when ``validate``, read back with the loader so a file that would not ingest is refused with the
    loader's reason. Only then is the file renamed into place: with ``overwrite=False`` an existing file of that
    name is kept and the upload refused. On every failure the temporary file is removed, so nothing is left."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UploadError(str(filename), f"the upload must be bytes, not {type(data).__name__}")
    payload = bytes(data)
    target = safe_upload_path(upload_dir, filename)
    if len(payload) > max_bytes:
        raise UploadError(filename, f"the file is {_size(len(payload))}, over the {_size(max_bytes)} limit")
    if not payload.strip():
        raise UploadError(filename, "the file is empty")
    if target.exists() and not overwrite:
        raise UploadError(filename, "a file of that name is already uploaded; remove it first or rename this one")

    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UploadError(filename, f"could not create the uploads folder ({exc.strerror or exc})") from exc
    temp = folder / f".upload-{secrets.token_hex(8)}{target.suffix.lower()}"
    try:
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise UploadError(filename, f"could not save the file ({exc.strerror or exc})") from exc
        if validate:
            try:
                load_article(SourceFile(temp, folder, target.name), max_bytes=max_bytes)
            except LoadError as exc:
                raise UploadError(filename, exc.reason) from None
        try:
            _move_into_place(temp, target, overwrite)
        except FileExistsError as exc:
            raise UploadError(filename, "a file of that name was uploaded meanwhile; try again") from exc
        except OSError as exc:
            raise UploadError(filename, f"could not save the file ({exc.strerror or exc})") from exc
        _fsync_folder(folder)
        return target
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def copy_upload(upload_dir: Path, filename: str, source: Path, max_bytes: int, *, overwrite: bool = False) -> Path:
    """``save_upload`` for a file already on disk (a web framework's temporary copy): its size is checked before
    it is read, and no more than ``max_bytes + 1`` bytes are ever read."""
    safe_upload_name(filename)
    try:
        size = Path(source).stat().st_size
        if size > max_bytes:
            raise UploadError(filename, f"the file is {_size(size)}, over the {_size(max_bytes)} limit")
        with open(source, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UploadError(filename, f"the uploaded file could not be read ({exc.strerror or exc})") from exc
    return save_upload(upload_dir, filename, data, max_bytes, overwrite=overwrite)


def _move_into_place(temp: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)  # atomic, and fails rather than replace a file that appeared meanwhile
    except FileExistsError:
        raise
    except OSError as exc:  # a file system without hard links: check, then rename (a small race, same folder)
        if exc.errno not in {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}:
            raise
        if target.exists():
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from exc
        os.replace(temp, target)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
