"""Archive members as inputs: .zip and .tar(.gz) read member by member, each judged before it is read.

`members(f, archive_path)` yields `Member`s in the archive's order. A member's name is its exact
bytes (surrogate-escaped str): a zip made on Windows in cp437 or latin-1 keeps its names. Its size
comes from the archive's own metadata, so a member over the one-file limit is refused unread; a
zip member is read through zipfile, which stops at the size its directory declares, and
`sources.read_bounded` stops any stream at the limit whatever it declared.
"""
import dataclasses
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

ZIP_UTF8_FLAG = 0x800


@dataclasses.dataclass
class Member:
    name: str            # as stored (surrogate-escaped where not UTF-8)
    size: int            # bytes, as the archive's metadata declares
    open: object = None  # () -> binary stream of the member; None when refused
    refused: str = ""    # why it is not read


def members(f: BinaryIO, archive_path: str) -> Iterator[tuple]:
    """Members of a zip (random access) or a tar / tar.gz (streamed: each is read once, in order)."""
    if archive_path.lower().endswith(".zip"):
        yield from _zip_members(f)
    else:
        yield from _tar_members(f)


def zip_name(info: zipfile.ZipInfo) -> str:
    """A zip member's name as its exact bytes: zipfile decodes names without the UTF-8 flag as cp437."""
    raw = info.orig_filename.encode("utf-8" if info.flag_bits & ZIP_UTF8_FLAG else "cp437")
    return raw.decode("utf-8", "surrogateescape")


def _zip_members(f):
    z = zipfile.ZipFile(f)
    for info in z.infolist():
        if info.is_dir():
            continue
        kind = stat.S_IFMT(info.external_attr >> 16)  # Unix file type, where the zip was made on Unix (or 0)
        if info.create_system == 3 and kind and kind != stat.S_IFREG:
            yield Member(zip_name(info), info.file_size, refused="not a regular file (link or device)")
            continue
        yield Member(zip_name(info), info.file_size, open=lambda info=info: z.open(info))


def _tar_members(f):
    # Streaming mode: members are read in order, once; tarfile gives names as surrogate-escaped str.
    with tarfile.open(fileobj=f, mode="r|*", errors="surrogateescape") as t:
        for m in t:
            if m.isdir():
                continue
            if not m.isfile():
                yield Member(m.name, m.size, refused="not a regular file (link or device)")
                continue
            yield Member(m.name, m.size, open=lambda m=m: t.extractfile(m))
