"""The output folder of a stage: one run at a time, nothing written outside it or through a link.

- `OutputTree(root)`: writes under the real path of --output one folder at a time with O_NOFOLLOW,
  so a link planted inside the output tree (to a folder of originals, say) is refused, never
  followed; each file is written under a temporary name, flushed to disk and renamed, so a killed
  run or a full disk never leaves a partial file under a final name.
- `lock(root, command)`: one run per output folder. An flock, which the kernel drops when its holder
  dies, so a killed run never leaves a lock that blocks the next one.
- `remove_leftovers(root, prefixes)`: temporary files and Beam's temporary folders of killed runs.

gs:// outputs are written through Beam's FileSystems (an object appears whole when it is closed);
they cannot hold links, and they are not locked.
"""
import contextlib
import datetime
import errno
import fcntl
import json
import os
import re
import shutil
import socket
import stat
import uuid

from basics import remote
from basics.errors import UserError
from basics.paths import is_remote, readable

TMP_MARK = ".colorize-tmp-"
LOCK_FILE = ".colorize.lock"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class OutputError(UserError):
    """An output folder or file that cannot be used as asked; str() says why."""


class OutputTree:
    """Files under one output folder, addressed by posix relative paths (surrogate-escaped str)."""

    def __init__(self, root):
        self.remote = is_remote(root)
        self.root = root.rstrip("/") if self.remote else os.path.realpath(root)

    def path(self, relpath: str) -> str:
        return f"{self.root}/{relpath}" if self.remote else os.path.join(self.root, *relpath.split("/"))

    def exists(self, relpath: str) -> bool:
        """Whether a finished file is there. A link or a folder where the file goes is an OutputError."""
        if self.remote:
            return remote.exists(self.path(relpath))
        folders, name = _split(relpath)
        try:
            fd = self._open_folders(folders, create=False)
        except FileNotFoundError:
            return False
        try:
            mode = os.lstat(name, dir_fd=fd).st_mode
        except FileNotFoundError:
            return False
        finally:
            os.close(fd)
        if not stat.S_ISREG(mode):
            raise OutputError(f"refused: {readable(relpath)} in the output folder is a link or a folder, not a photo")
        return True

    def read(self, relpath: str) -> bytes | None:
        """A file's bytes, or None when it is not there; read through no link, like every write."""
        if self.remote:
            return remote.read_bytes(self.path(relpath)) if remote.exists(self.path(relpath)) else None
        folders, name = _split(relpath)
        try:
            fd = self._open_folders(folders, create=False)
        except FileNotFoundError:
            return None
        try:
            f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            return None
        finally:
            os.close(fd)
        with os.fdopen(f, "rb") as handle:
            return handle.read()

    def remove(self, relpath: str) -> None:
        """Removes a file this run wrote, through no link; gone already is fine."""
        if self.remote:
            if remote.exists(self.path(relpath)):
                remote.delete([self.path(relpath)])
            return
        folders, name = _split(relpath)
        fd = self._open_folders(folders, create=False)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=fd)
        finally:
            os.close(fd)

    def write(self, relpath: str, data: bytes) -> None:
        """Writes bytes under a temporary name, flushes them to disk, renames: all or nothing."""
        if self.remote:
            remote.create(self.path(relpath), data)
            return
        folders, name = _split(relpath)
        fd = self._open_folders(folders, create=True)
        tmp = f"{TMP_MARK}{uuid.uuid4().hex[:16]}"  # short: the final name may be near the 255-byte limit
        try:
            with contextlib.suppress(FileNotFoundError):
                if not stat.S_ISREG(os.lstat(name, dir_fd=fd).st_mode):
                    raise OutputError(f"refused: {readable(relpath)} in the output folder is a link or a folder")
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fd)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view):]
                os.fsync(out)  # a rename must never publish a file whose bytes are not on disk yet
            finally:
                os.close(out)
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=fd)
            raise
        finally:
            os.close(fd)

    def _open_folders(self, folders, create):
        """A descriptor of root/folders, opened one level at a time without following any link."""
        fd = os.open(self.root, _DIR_FLAGS & ~os.O_NOFOLLOW)  # the root itself is a real path already
        for i, part in enumerate(folders):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, dir_fd=fd)
            try:
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as e:
                os.close(fd)
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise OutputError(f"refused: {readable('/'.join(folders[:i + 1]))} in the output folder is a "
                                      "link or a file, not a folder") from None
                raise
            os.close(fd)
            fd = inner
        return fd


def is_disk_full(error: BaseException | None) -> bool:
    """Whether an exception, or one it wraps (Beam re-raises a worker's error as text), is a full disk."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "No space left on device" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _split(relpath):
    parts = relpath.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise OutputError(f"refused: {readable(relpath)} is not a plain path inside the output folder")
    return parts[:-1], parts[-1]


def check_folder(path: str, flag: str = "--output") -> None:
    """A folder a command writes into must be a folder or not exist yet."""
    if not is_remote(path) and os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(f"{flag} {path} is a file; give a folder (it is made if missing)")


class Lock:
    """Holds `root/.colorize.lock` while a run writes into root; see `lock`."""

    def __init__(self, path, fd):
        self.path, self.fd = path, fd

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def lock(root: str, command: str) -> "Lock":
    """Locks a local output folder for one run, or raises OutputError naming the run that holds it.

    The lock is an flock on root/.colorize.lock, released by the kernel when the holding process
    dies, however it dies: the file a killed run leaves is taken over, never mistaken for a live run.
    """
    if is_remote(root):
        return Lock(None, None)
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, LOCK_FILE)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise OutputError(f"{root} is in use by another run ({holder}): wait for it to finish, "
                              "or choose another --output") from None
        # The holder before us may have unlinked the file between our open and our flock: retry.
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    os.ftruncate(fd, 0)
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
              "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    os.write(fd, json.dumps(holder).encode())
    return Lock(path, fd)


def _read_holder(fd):
    try:
        h = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"colorize {h['command']}, pid {h['pid']} on {h['host']}, started {h['started']}"
    except (ValueError, KeyError, TypeError):
        return "a colorize run that has not written its name yet"


def remove_leftovers(root: str, beam_prefixes: list[str]) -> int:
    """Deletes temporary files of killed runs anywhere under root, and Beam's temporary folders
    (`beam-temp-PREFIX-<hex>`) at its top; returns how many it removed."""
    if is_remote(root) or not os.path.isdir(root):
        return 0
    removed = 0
    temp_dir = re.compile(r"^beam-temp-(%s)-[0-9a-f]{32}$" % "|".join(map(re.escape, beam_prefixes)))
    for name in os.listdir(root):
        full = os.path.join(root, name)
        if temp_dir.match(name) and os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
            removed += 1
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if TMP_MARK in name:  # also the older `.NAME.colorize-tmp-XXXX` form
                os.remove(os.path.join(dirpath, name))
                removed += 1
    return removed
