"""Files through Beam's FileSystems: the one home of remote I/O (gs://, s3://, ...), for every stage, whatever the
Keras backend (no TensorFlow needed), and of the few local files a pipeline handles the same way wherever its
output lies (its counts, the archives it expands). Beam is imported only when a path comes here, so local
work (and `colorize evaluate`, `colorize train`) needs no Beam.

    exists / size / match / open_read / read_bytes / copy_to   reading
    create / rename / delete                                  writing (an object appears whole when closed)
"""
import re
from collections.abc import Iterable
from typing import IO, Any

from basics.errors import UserError

GCP_HINT = "gs:// needs the [gcp] extra: pip install 'colorize[gcp]'"


class RemoteNotFound(FileNotFoundError):
    pass


class RemoteError(UserError):
    """A remote path that cannot be listed or opened (an unknown scheme, a missing extra)."""


def filesystems() -> Any:
    """Beam's FileSystems (also right for local paths, which callers keep to the os module)."""
    from apache_beam.io.filesystems import FileSystems
    return FileSystems


def exists(path: str) -> bool:
    return filesystems().exists(path)


def match(pattern: str) -> list:
    """Metadata (path, size_in_bytes) of every object a pattern matches; RemoteError where the scheme is unknown."""
    try:
        results = filesystems().match([pattern])
    except Exception as e:  # noqa: BLE001 - Beam raises BeamIOError / ImportError / ValueError for an unknown scheme
        raise RemoteError(f"cannot list {pattern}: {str(e).splitlines()[0]} ({GCP_HINT})") from None
    return list(results[0].metadata_list)


def size(path: str) -> int:
    """A remote file's size in bytes from its listing, before reading it."""
    return filesystems().match([escape_glob(path)])[0].metadata_list[0].size_in_bytes


def stat(path: str) -> tuple[int, int | None]:
    """A remote file's (size in bytes, last update in nanoseconds, or None where its store does not say), from one
    listing: what "already done" compares before it would read the object again."""
    meta = filesystems().match([escape_glob(path)])[0].metadata_list[0]
    updated = getattr(meta, "last_updated_in_seconds", None)
    return meta.size_in_bytes, round(updated * 1e9) if updated else None


def escape_glob(path: str) -> str:
    """A literal path as a pattern: [ ] * ? stand for themselves."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def open_read(path: str) -> IO[bytes]:
    """A remote file opened for reading as stored (no decompression by its name's extension)."""
    from apache_beam.io.filesystem import CompressionTypes
    if not exists(path):
        raise RemoteNotFound(path)
    return filesystems().open(path, mime_type="application/octet-stream",
                              compression_type=CompressionTypes.UNCOMPRESSED)


def read_bytes(path: str) -> bytes:
    """The whole file."""
    with open_read(path) as f:
        return f.read()


def copy_to(remote: str, local: str) -> None:
    """Copies a remote file to a local path, 16 MiB at a time."""
    with open_read(remote) as src, open(local, "wb") as dst:
        while chunk := src.read(16 << 20):
            dst.write(chunk)


def create(path: str, data: bytes, mime_type: str = "application/octet-stream") -> None:
    """Writes a whole object (it appears when closed: never half-written)."""
    with filesystems().create(path, mime_type=mime_type) as f:
        f.write(data)


def rename(sources: Iterable[str], destinations: Iterable[str]) -> None:
    filesystems().rename(list(sources), list(destinations))


def delete(paths: Iterable[str]) -> None:
    filesystems().delete(list(paths))
