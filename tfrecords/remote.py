"""Remote paths (gs://, s3://, ...) through Beam's FileSystems: the one way every stage reads a file that
is not on this machine, whatever the Keras backend (no TensorFlow needed). Local paths never come here."""


class RemoteNotFound(FileNotFoundError):
    pass


def is_remote(path):
    return "://" in str(path)


def _open(path):
    """A remote file opened for reading as stored (no decompression by its name's extension)."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems
    if not FileSystems.exists(path):
        raise RemoteNotFound(path)
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def read_bytes(path):
    """The whole file."""
    with _open(path) as f:
        return f.read()


def copy_to(remote, local):
    """Copies a remote file to a local path, 16 MiB at a time."""
    with _open(remote) as src, open(local, "wb") as dst:
        while chunk := src.read(16 << 20):
            dst.write(chunk)
