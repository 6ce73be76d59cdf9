"""Helpers the benchmarks share: picking photos, timing commands, sampling a process tree's memory."""
import collections
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time

DEFAULT_PHOTOS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "photos")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CPU_BOUND_PHOTOS = 3000  # at most this many photos time the CPU side: enough for a rate


def accelerator():
    """The GPU the Keras backend computes on (its name), or None on a CPU."""
    import keras
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        return next((d.device_kind for d in jax.devices() if d.platform == "gpu"), None)
    if backend == "tensorflow":
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        return gpus[0].name if gpus else None
    if backend == "torch":
        import torch
        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return None


def photo_paths(folder, n):
    """n photos spread evenly over the folder's sorted list (every source and size, not just the first)."""
    paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs if f.lower().endswith(IMAGE_SUFFIXES))
    if len(paths) < n:
        sys.exit(f"{folder} holds {len(paths)} photos; the benchmark needs {n}")
    return spread(paths, n)


def spread(paths, n):
    """At most n of paths, evenly spaced over the list."""
    step = max(1.0, len(paths) / n)
    return [paths[int(i * step)] for i in range(min(n, len(paths)))]


def copy_photos(paths, dest):
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for i, p in enumerate(paths):
        shutil.copy(p, os.path.join(dest, f"{i:05d}_{os.path.basename(p)}"))
    return dest


def _tree_rss(root_pid):
    """Sum of resident memory (bytes) of a process and all its descendants."""
    children, rss = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(pid))
            rss[int(pid)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


PROGRESS_EVERY_S = "2"  # plain progress lines this often in timed runs: the steady rate's samples
ECHO_EVERY_S = 10.0  # ... and one of them echoed this often
_BAR = re.compile(r"\] (\d+)/(\d+) photos")


def timed_command(cmd, env=None):
    """Runs a command; returns (seconds, peak resident memory of its whole process tree in MiB, steady
    rate: steady_rate of its progress lines, None if it printed too few)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLORIZE_PROGRESS_EVERY": PROGRESS_EVERY_S, **(env or {})})
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.2)
    t = threading.Thread(target=sample, daemon=True)
    t.start()
    tail, points, shown = collections.deque(maxlen=200), [], 0.0
    for line in proc.stdout:  # stamped as it arrives: the progress lines' own clock has whole seconds
        m = _BAR.search(line)
        if not m:
            tail.append(line)  # what a failure's message shows: the command's own lines, not its progress
        else:
            points.append((time.perf_counter() - start, int(m.group(1)), int(m.group(2))))
            if points[-1][0] - shown >= ECHO_EVERY_S:  # a run cut short by a time limit still says how far it got
                shown = points[-1][0]
                progress(f"{points[-1][0]:.1f} s: {line.strip()}")
    proc.wait()
    seconds = time.perf_counter() - start
    t.join()
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{''.join(tail)[-3000:]}")
    if proc.returncode == 1:  # it ran, but not every photo came through: the figures need its reason beside them
        progress(f"exit code 1; its last lines:\n{''.join(tail)[-2000:]}")
    return seconds, peak[0] / 2**20, steady_rate(points)


def end_to_end(stage, paths, workdir, *args):
    """`colorize STAGE --input (a copy of paths) --output DIR ARGS`, timed; both removed after.
    -> (seconds, peak MiB, steady images/s or None)"""
    folder = copy_photos(paths, os.path.join(workdir, f"in{len(paths)}"))
    out = os.path.join(workdir, f"out{len(paths)}")
    seconds, peak, steady = timed_command(colorize_cmd(stage, "--input", folder, "--output", out, *args))
    progress(f"{stage} on {len(paths)} photos: {seconds:.1f} s" + (f", steady {steady:.1f} images/s" if steady else ""))
    shutil.rmtree(folder)
    shutil.rmtree(out)
    return seconds, peak, steady


def steady_rate(points, low=0.1, high=0.9):
    """Photos a second once a run is under way: the slope of its progress samples [(seconds, done,
    total)] between `low` and `high` of the total (past the workers' start, before the last stragglers).
    What the difference of two run sizes measures, from one run, without the start's noise."""
    inside = [(t, d) for t, d, total in points if low * total <= d <= high * total]
    if len(inside) < 2 or inside[-1][0] - inside[0][0] <= 0:
        return None
    return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])


def rate_on_all_cores(work, items):
    """Items a second through `work` (a module-level function) in a pool of every core, timed after
    one item a worker has started the workers and done their imports."""
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(work, items[:os.cpu_count()]))
        start = time.perf_counter()
        list(pool.map(work, items, chunksize=4))
    return len(items) / (time.perf_counter() - start)


def machine():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def worker_flags(workers, share_model=False):
    """Flags for a local run: `workers` worker processes (None: the default, one a core), one shared model."""
    return (["--direct_num_workers", str(workers)] if workers else []) + (["--share-model"] if share_model else [])


def progress(line):
    """A step's figure as soon as it is known (long benchmarks on remote machines are watched live)."""
    print(f"  .. {line}", flush=True)


def colorize_cmd(*args):
    return [sys.executable, "-m", "commands.cli", *args]


QUALITY_HEADER = "validation AuC | acc@10 | colourfulness | sample photos AuC | colourfulness |"


def quality_cells(decoded, card, data, info, samples, images, vividness):
    """A decoded model scored on the records' validation split and the sample photos -> (the QUALITY_HEADER
    columns of a markdown row, the validation metrics, the sample photos' metrics)."""
    from model import evaluate
    val = evaluate.on_records(decoded, card, data, "val", info, vividness=vividness)
    smp = evaluate.on_photos(decoded, card, samples, images, vividness=vividness)
    return (f"{val['model']['auc']:.2f} | {val['model']['acc@10']:.2f} | {val['model']['colourfulness']:.2f} | "
            f"{smp['model']['auc']:.2f} | {smp['model']['colourfulness']:.2f} |"), val, smp
