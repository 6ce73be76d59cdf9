"""Finding the inputs and reading them within bounds: folders, globs, gs:// paths, tfds:NAME sources.

Paths travel through Beam as bytes and show readably in reports (basics.paths); remote ones are listed and
read through basics.remote. Folders are compared by their real paths, so a link cannot make the output
folder look like another place than it is.
"""
import dataclasses
import glob as globlib
import os
import posixpath
from collections.abc import Callable
from typing import BinaryIO

from basics import photos, remote
from basics.errors import UserError
from basics.paths import is_remote, readable
from basics.remote import escape_glob
from pipeline import ledger

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
TFDS_PREFIX = "tfds:"
DEFAULT_MAX_FILE_MB = 512  # one file or archive member; a 16-bit RGB TIFF of 90 megapixels is 540 MB
CHUNK_BYTES = 1 << 20


class InputError(UserError):
    """An input the user named that cannot be read; str() says what to do."""


@dataclasses.dataclass(frozen=True)
class InputFile:
    path: str       # where to read it (surrogate-escaped str for names that are not UTF-8)
    relpath: str    # where it goes under the output folder (posix separators)


@dataclasses.dataclass
class Listing:
    files: list                                   # InputFile, sorted
    refused: list = dataclasses.field(default_factory=list)  # (readable relpath, reason): listed as failures
    folders_skipped: list = dataclasses.field(default_factory=list)  # (readable relpath, reason): not entered


# Folders a listing does not enter, each named with its reason where the skipped files are listed.
LINKED_FOLDER = "a link to a folder: not followed (name its target as --input)"
HIDDEN_FOLDER = "a hidden folder (its name starts with a dot: .git, .venv, .cache): not entered"
OUTPUT_FOLDER = "an output folder of colorize run (it holds _done/): its colour copies are never read as input"


@dataclasses.dataclass(frozen=True)
class TfdsSource:
    name: str
    split: str

    @classmethod
    def parse(cls, spec: str) -> "TfdsSource":
        body = spec[len(TFDS_PREFIX):]
        name, _, split = body.partition(":")
        if not name:
            raise InputError(f"{spec}: expected tfds:NAME[/CONFIG][:SPLIT]")
        return cls(name, split or "train")


def is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def exists(path: str) -> bool:
    """Whether a file or folder is there (gs://: an object, or a prefix holding objects)."""
    if not is_remote(path):
        return os.path.lexists(path)
    if remote.exists(path):
        return True
    return bool(_match_remote(escape_glob(path.rstrip("/")) + "/**", quiet=True))


def is_pattern(spec: str) -> bool:
    """An existing path is a path even if its name holds [ ] * ?; only a path that is not there is a glob."""
    return is_glob(spec) and not exists(spec)


def real(path: str) -> str:
    """The real path of a local path (links resolved), unchanged for gs://."""
    return path if is_remote(path) else os.path.realpath(path)


def within(path: str, folder: str | None) -> bool:
    """Whether `path` is `folder` or lies under it; both real paths (see `real`)."""
    if not folder:
        return False
    return path == folder or path.startswith(folder.rstrip("/" + os.sep) + ("/" if is_remote(folder) else os.sep))


def root_of(spec: str) -> str:
    """The folder an input spec's relative paths start from."""
    if is_pattern(spec):
        return _glob_root(spec) or "."
    if is_remote(spec):
        return spec.rstrip("/") if not remote.exists(spec) else posixpath.dirname(spec)
    return spec if os.path.isdir(spec) else os.path.dirname(spec)


def _glob_root(pattern):
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        if is_glob(part):
            return "/".join(parts[:i])
    return posixpath.dirname(pattern)


def _match_remote(pattern, quiet=False):
    try:
        return sorted(m.path for m in remote.match(pattern))
    except remote.RemoteError as e:
        if quiet:
            return []
        raise InputError(str(e)) from None


def list_inputs(spec: str, exclude: str | None = None) -> "Listing":
    """Every file an input spec names, with paths relative to the spec's root; nothing under `exclude`.

    Links to folders are not followed (they could lead anywhere, loops included), hidden folders and this tool's
    own output folders are not entered: each is listed in folders_skipped with why, so the photos behind it
    are accounted for. Files are compared with `exclude` by their real paths, so a link into the output
    folder is never taken as an input.
    """
    if is_remote(spec):
        return _list_remote(spec)
    root, refused, paths, skipped = root_of(spec), [], [], []
    if os.path.isdir(spec) and ledger.is_output_folder(spec):
        raise InputError(f"input {readable(spec)} is an output folder of colorize run (it holds "
                         f"{ledger.LEDGER}/): its colour copies are not photos to colorize; name the originals")
    excluded = real(exclude) if exclude else None
    if is_pattern(spec):
        paths = sorted(p for p in globlib.glob(spec, recursive=True) if os.path.isfile(p))
    elif os.path.isdir(spec):
        for dirpath, dirnames, filenames in os.walk(spec):  # does not enter links to folders
            keep = []
            for d in sorted(dirnames):
                full = os.path.join(dirpath, d)
                if within(real(full), excluded):
                    continue
                why = (LINKED_FOLDER if os.path.islink(full) else HIDDEN_FOLDER if d.startswith(".")
                       else OUTPUT_FOLDER if ledger.is_output_folder(full) else None)
                if why:
                    skipped.append((_rel(full, root) + "/", why))
                    continue
                keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                if not os.path.isfile(full):
                    refused.append((_rel(full, root), "not a regular file (a broken link, a device or a pipe)"))
                else:
                    paths.append(full)
    elif os.path.isfile(spec):
        paths = [spec]
    else:
        raise InputError(f"input {readable(spec)} does not exist")
    files = [InputFile(p, _rel(p, root, keep_bytes=True)) for p in paths if not within(real(p), excluded)]
    return Listing(files, refused, skipped)


def _rel(path, root, keep_bytes=False):
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    return rel if keep_bytes else readable(rel)


def _list_remote(spec):
    pattern = spec if is_pattern(spec) else spec.rstrip("/") + "/**"
    root = root_of(spec)
    paths = _match_remote(pattern)
    if not paths and not is_pattern(spec) and remote.exists(spec):
        paths = [spec]
    return Listing([InputFile(p, p[len(root):].lstrip("/")) for p in paths])


def list_files(spec: str, exclude: str | None = None) -> list:
    return list_inputs(spec, exclude).files


def read_file(path: str, max_bytes: int, check_head: Callable[[bytes], None] | None = None) -> bytes:
    """A whole file's bytes, refused from its size before reading when over `max_bytes`."""
    if is_remote(path):
        with remote.open_read(path) as f:
            return read_bounded(f, remote.size(path), max_bytes, check_head)
    with open(path, "rb") as f:
        return read_bounded(f, os.fstat(f.fileno()).st_size, max_bytes, check_head)


class TooLarge(UserError):
    """A file or member over the one-file limit."""


def read_bounded(f: BinaryIO, declared: int | None, max_bytes: int,
                 check_head: Callable[[bytes], None] | None = None) -> bytes:
    """Reads a stream whole, never holding more than max_bytes + one chunk, whatever it claims.

    `declared` is the size the file system or archive gives: over the limit, nothing is read.
    `check_head(first bytes)` may refuse the file from its first megabyte (not an image, or an
    image whose header declares too many pixels) before the rest is read.
    """
    if declared is not None and declared > max_bytes:
        raise TooLarge(f"{mib(declared)} is over the limit of {mib(max_bytes)} for one file (--max-file-mb)")
    head = f.read(min(photos.HEAD_BYTES, max_bytes + 1))
    if check_head is not None:
        check_head(head)
    parts, total = [head], len(head)
    while total <= max_bytes:
        chunk = f.read(min(CHUNK_BYTES, max_bytes + 1 - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    if total > max_bytes:
        said = f" (its header said {mib(declared)})" if declared is not None else ""
        raise TooLarge(f"holds more than the limit of {mib(max_bytes)} for one file{said} (--max-file-mb)")
    return b"".join(parts)


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def safe_member_path(name: str) -> str | None:
    """An archive member's path if it stays inside the output folder, else None."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = name.replace("\\", "/").split("/")
    if any(p == ".." for p in parts):
        return None
    clean = posixpath.normpath("/".join(p for p in parts if p not in ("", ".")))
    return None if clean in ("", ".") else clean
