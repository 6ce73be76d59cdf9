"""Paths as this project passes them around: the one test for a remote path, and the one readable form.

Paths travel through Beam as bytes (`wire`): a file name that is not valid UTF-8 (an old disk, a zip made
on Windows) keeps its exact bytes, so its colour copy gets the same name; reports, logs and the gallery show
such a name readably (`readable`, undecodable bytes as \\xNN).
"""


def is_remote(path: "str | bytes") -> bool:
    """gs://, s3://, ... (anything with a scheme): read and written through Beam's FileSystems (basics.remote)."""
    return (b"://" if isinstance(path, bytes) else "://") in path


def wire(path: str) -> bytes:
    """str path (surrogate-escaped where not UTF-8) -> its exact bytes, for Beam elements."""
    return path.encode("utf-8", "surrogateescape")


def unwire(data: bytes) -> str:
    """The inverse of `wire`."""
    return data.decode("utf-8", "surrogateescape")


def readable(path: "str | bytes") -> str:
    """A path as text that is always valid UTF-8: undecodable bytes show as \\xNN."""
    data = path if isinstance(path, bytes) else wire(path)
    return data.decode("utf-8", "backslashreplace")
