"""The one home of remote I/O, asked through Beam's file systems (here on local files, which they serve too)."""
import os

from basics import remote


def test_stat_gives_the_size_and_time_that_already_done_compares(tmp_path):
    path = tmp_path / "scan.tif"
    path.write_bytes(b"x" * 1234)
    size, updated = remote.stat(str(path))
    assert size == 1234 and abs(updated - os.stat(path).st_mtime_ns) < 1_000_000  # a float of seconds, to the us
    os.utime(path, ns=(0, 10**18))
    assert remote.stat(str(path)) == (1234, 10**18)  # a touch is seen
