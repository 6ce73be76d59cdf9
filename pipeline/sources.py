"""Finding the inputs: local folders (recursive), globs, gs:// paths, tfds:NAME sources, archives."""
import dataclasses
import glob as globlib
import os
import posixpath

from apache_beam.io.filesystems import FileSystems

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
TFDS_PREFIX = "tfds:"


class InputError(Exception):
    """An input the user named that cannot be read; str() says what to do."""


@dataclasses.dataclass(frozen=True)
class InputFile:
    path: str       # where to read it (a file, or an archive holding `member`)
    relpath: str    # where it goes under the output folder (posix separators)
    member: str = ""


@dataclasses.dataclass(frozen=True)
class TfdsSource:
    name: str
    split: str

    @classmethod
    def parse(cls, spec):
        body = spec[len(TFDS_PREFIX):]
        name, _, split = body.partition(":")
        if not name:
            raise InputError(f"{spec}: expected tfds:NAME[/CONFIG][:SPLIT]")
        return cls(name, split or "train")


def is_remote(path):
    return "://" in path


def is_glob(path):
    return any(ch in path for ch in "*?[")


def is_archive(path):
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def _within(path, folder):
    if not folder:
        return False
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _glob_root(pattern):
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        if is_glob(part):
            return "/".join(parts[:i])
    return posixpath.dirname(pattern)


def _match_remote(pattern):
    try:
        results = FileSystems.match([pattern])
    except Exception as e:  # Beam raises BeamIOError / ImportError for an unknown scheme
        raise InputError(f"cannot list {pattern}: {str(e).splitlines()[0]} "
                         "(gs:// needs the [gcp] extra: pip install 'colorize[gcp]')") from None
    return sorted(m.path for m in results[0].metadata_list)


def list_files(spec, exclude=None):
    """All files an input spec names, as InputFile with paths relative to the spec's root."""
    if is_remote(spec):
        root = spec.rstrip("/") if not is_glob(spec) else _glob_root(spec)
        pattern = spec if is_glob(spec) else root + "/**"
        paths = _match_remote(pattern)
        if not paths and not is_glob(spec) and FileSystems.exists(spec):
            paths, root = [spec], posixpath.dirname(spec)
        return [InputFile(p, p[len(root):].lstrip("/")) for p in paths]
    if is_glob(spec):
        root = _glob_root(spec) or "."
        paths = sorted(p for p in globlib.glob(spec, recursive=True) if os.path.isfile(p))
    elif os.path.isdir(spec):
        root = spec
        paths = []
        for dirpath, dirnames, filenames in os.walk(spec):
            dirnames[:] = sorted(d for d in dirnames if not _within(os.path.join(dirpath, d), exclude))
            paths.extend(os.path.join(dirpath, f) for f in sorted(filenames))
    elif os.path.isfile(spec):
        root, paths = os.path.dirname(spec), [spec]
    else:
        raise InputError(f"input {spec} does not exist")
    return [InputFile(p, os.path.relpath(p, root).replace(os.sep, "/"))
            for p in paths if not _within(p, exclude)]


def read_bytes(path):
    with FileSystems.open(path, mime_type="application/octet-stream",
                          compression_type="uncompressed") as f:
        return f.read()


def safe_member_path(name):
    """An archive member's path if it stays inside the output folder, else None."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = name.replace("\\", "/").split("/")
    if any(p == ".." for p in parts):
        return None
    clean = posixpath.normpath("/".join(p for p in parts if p not in ("", ".")))
    return None if clean in ("", ".") else clean
