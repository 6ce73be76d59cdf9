"""Progress of a local run, drawn by the launcher as one bar over all worker processes.

Workers (`Ticker`, in a DoFn through `Counting`) write their running count to a small file of their
own in a folder the launcher made, at most twice a second and at the end of each bundle, by atomic
rename; the launcher (`Bar`, in a thread beside the pipeline) adds the files up and draws: photos
done of the total, photos per second, elapsed time and the estimated time left. On a terminal it
redraws one line in place; elsewhere (CI, logs) it prints a plain line every 30 seconds
(COLORIZE_PROGRESS_EVERY=SECONDS changes that). Runs on a remote runner have no shared folder: their
runner's own console shows progress.
"""
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid

from basics.errors import UserError

TICK_EVERY_S = 0.5
PLAIN_EVERY_S = 30.0
PLAIN_EVERY_VARIABLE = "COLORIZE_PROGRESS_EVERY"
BAR_WIDTH = 24


class Ticker:
    """A worker's count of finished inputs, published to the launcher's progress folder."""

    def __init__(self, folder):
        self.folder, self.count, self._last, self._published = folder, 0, 0.0, 0
        self.name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def tick(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if self.folder and now - self._last >= TICK_EVERY_S:
            self._last = now
            self.publish()

    def publish(self) -> None:
        tmp = os.path.join(self.folder, f".{self.name}")
        with open(tmp, "w") as f:
            f.write(str(self.count))
        os.replace(tmp, os.path.join(self.folder, self.name))
        self._published = self.count

    def flush(self) -> None:
        """Publishes what the last ticks counted: a burst inside TICK_EVERY_S of the last publish would
        otherwise wait for the next tick, which a worker's last batch never gets."""
        if self.folder and self.count != self._published:
            self.publish()


class Counting:
    """For a DoFn that counts its finished inputs on the bar (`self.progress_folder`, None off the local
    runner): owns its `ticker`, made in setup and published at the end of every bundle and at teardown.
    Publishing per bundle matters: without it a worker's last batch showed on the bar only when the
    worker shut down, after the whole pipeline (a 16-worker GPU run's bar stood 512 photos short, 16
    workers x one batch of 32, until then). A DoFn with more to set up calls super().setup()."""

    def setup(self) -> None:
        self.ticker = Ticker(self.progress_folder)

    def finish_bundle(self) -> None:
        self.ticker.flush()

    def teardown(self) -> None:
        self.ticker.flush()


def done_in(folder: str) -> int:
    """The sum of every worker's published count."""
    total = 0
    for name in os.listdir(folder):
        if name.startswith("."):
            continue
        try:
            with open(os.path.join(folder, name)) as f:
                total += int(f.read() or 0)
        except (OSError, ValueError):  # a worker's file replaced while read: counted next time
            continue
    return total


def plain_every() -> float:
    """Seconds between plain progress lines: COLORIZE_PROGRESS_EVERY, or 30."""
    value = os.environ.get(PLAIN_EVERY_VARIABLE, "")
    if not value:
        return PLAIN_EVERY_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise UserError(f"{PLAIN_EVERY_VARIABLE}={value!r}: expected a number of seconds above 0")
    return seconds


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def line(done: int, total: int | None, elapsed: float, what: str) -> str:
    """'[#####-----] 120/500 photos  9.8/s  0:12 elapsed  0:39 left' (no total: count and rate only)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if total:
        filled = min(BAR_WIDTH, int(BAR_WIDTH * done / total))
        left = "0:00" if done >= total else clock((total - done) / rate) if rate > 0 else "--:--"
        return (f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done}/{total} {what}  {rate:.1f}/s  "
                f"{clock(elapsed)} elapsed  {left} left")
    return f"{done} {what}  {rate:.1f}/s  {clock(elapsed)} elapsed"


class Bar:
    """The launcher's side: `with Bar(total, 'photos') as bar:` run the pipeline with `bar.folder`."""

    def __init__(self, total, what, stream=None, local=True):
        self.total, self.what, self.stream = total, what, stream or sys.stderr
        self.folder = tempfile.mkdtemp(prefix="colorize-progress-") if local else None
        self.tty = self.stream.isatty()
        self.plain_every = plain_every()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._draw, daemon=True)

    def __enter__(self):
        self.start = time.monotonic()
        if self.folder:
            self._thread.start()
        return self

    def _draw(self):
        last_plain = self.start
        while not self._stop.wait(TICK_EVERY_S):
            now = time.monotonic()
            if self.tty:
                self._write("\r" + line(done_in(self.folder), self.total, now - self.start, self.what) + "\x1b[K")
            elif now - last_plain >= self.plain_every:
                last_plain = now
                self._write(line(done_in(self.folder), self.total, now - self.start, self.what) + "\n")

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()

    def __exit__(self, *exc):
        self._stop.set()
        if self.folder:
            self._thread.join()
            done = done_in(self.folder)
            final = line(done, self.total, time.monotonic() - self.start, self.what)
            self._write(("\r" + final + "\x1b[K\n") if self.tty else final + "\n")
            shutil.rmtree(self.folder, ignore_errors=True)
        return False
