"""Shared Beam plumbing: the local runner default, the runners refused, spreading work, the outcomes the
pipelines count themselves, failures, the workers' log."""
import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from basics import remote
from basics.errors import UserError, reason_of

NAMESPACE = "colorize"
# Whatever reading, decoding, preparing, colouring or writing one photo raises (Pillow's struct.error on a
# broken EXIF block, numpy's, the model's), that photo is a listed failure with its reason and the run goes
# on: no list of error classes, which the next kind of broken file would slip past. KeyboardInterrupt and
# SystemExit are not Exceptions: they still end the run.
PHOTO_ERRORS = Exception
log = logging.getLogger("colorize")



def is_local(beam_args: Sequence[str]) -> bool:
    """Whether the pipeline runs on this machine (no --runner given)."""
    return not any(a == "--runner" or a.startswith("--runner=") for a in beam_args)


def is_dry_run(beam_args: Sequence[str]) -> bool:
    """Dataflow's --dry_run: the job is built and checked, nothing is staged, submitted or run."""
    from apache_beam.options.pipeline_options import TestOptions
    return bool(PipelineOptions(list(beam_args)).view_as(TestOptions).dry_run)


def dry_run_report(result: Any, what: str, output: str) -> dict:
    """What a dry run returns instead of counts: the job's top-level steps, as the runner built them."""
    transforms = result.job.proto_pipeline.components.transforms.values()
    steps = sorted({t.unique_name for t in transforms if "/" not in t.unique_name and not t.unique_name.startswith("ref_")})
    return {"dry_run": True, "what": what, "output": output, "job_steps": steps}


LOCAL_WORKER_FLAGS = ("--direct_num_workers", "--direct_running_mode")


def in_process_threads() -> int:
    """Worker threads of a run in this process: one more than the cores."""
    return (os.cpu_count() or 1) + 1


def make_pipeline(beam_args: list[str], in_process: bool = False) -> beam.Pipeline:
    """A Pipeline from Beam flags. With no --runner: Beam's FnApiRunner on this machine, with a worker
    process per core, or (in_process: a small job) in this process, which saves each worker's start.

    Beam's default DirectRunner first tries to download the Prism runner binary; choosing the
    runner explicitly keeps local runs offline and quiet.
    """
    if not is_local(beam_args):
        return beam.Pipeline(options=PipelineOptions(beam_args))
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    # In this process, a thread more than the cores: while one thread's batch is in the model's forward pass
    # (which spreads over every core itself), the others decode, merge and encode (Pillow and NumPy let go of the
    # GIL), so no core waits on another stage. Measured on 2 cores, 300 photos of 0.22 MP: one thread 11.9
    # photos/s, three 21.8 (docs/benchmarks.md).
    workers, mode = ((str(in_process_threads()), "multi_threading") if in_process
                     else (str(os.cpu_count() or 1), "multi_processing"))
    local = {"--direct_num_workers": workers, "--direct_running_mode": mode,
             "--default_sdk_harness_log_level": "WARNING",
             "--sdk_harness_log_level_overrides": '{"colorize": "INFO"}'}
    has = {a.split("=")[0] for a in beam_args}  # a flag the user gives replaces only that default
    extra = [part for flag, value in local.items() if flag not in has for part in (flag, value)]
    return beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(extra + list(beam_args)))


class Spread(beam.PTransform):
    """Spreads elements over the workers in chunks of `size` that stay together: the one way both
    stages spread work.

    RunInference batches within a bundle, and a plain Reshuffle leaves bundles of one or two
    elements: the model would then run at batch 1-2. Chunks are made by BatchElements within a
    bundle (no state or timers, so every runner has it, Dask's included), then reshuffled whole.
    """

    def __init__(self, size):
        super().__init__()
        self.size = max(1, size)

    def expand(self, pcoll: beam.PCollection) -> beam.PCollection:
        return (pcoll
                | "Chunk" >> beam.BatchElements(min_batch_size=self.size, max_batch_size=self.size)
                | "Reshuffle" >> beam.Reshuffle()
                | "Unchunk" >> beam.FlatMap(lambda chunk: chunk))


def chunk_size(n: int, batch_size: int) -> int:
    """Chunks of up to batch_size, but at least 4 chunks a core, so no worker idles at the end."""
    return max(1, min(batch_size, -(-n // (4 * (os.cpu_count() or 1)))))


class WriteFailures(beam.PTransform):
    """(origin, reason) pairs from every step, plus those the launcher found -> one JSON line each, in
    `path_prefix` + .jsonl (one file, so a person can read it). Returns a "failed" outcome for each
    failure the pipeline found (the launcher counts its own)."""

    def __init__(self, path_prefix, found_by_launcher=()):
        super().__init__()
        self.path_prefix, self.found = path_prefix, list(found_by_launcher)

    def expand(self, pcolls: Iterable[beam.PCollection]) -> beam.PCollection:
        in_pipeline = list(pcolls) | "PipelineFailures" >> beam.Flatten()
        every = [in_pipeline]
        if self.found:
            every.append(in_pipeline.pipeline | "FoundByLauncher" >> beam.Create(self.found))
        _ = (every
             | "AllFailures" >> beam.Flatten()
             | "FailureLines" >> beam.MapTuple(failure_line)
             | "WriteFailures" >> beam.io.WriteToText(self.path_prefix, file_name_suffix=".jsonl",
                                                       shard_name_template=""))
        return in_pipeline | "FailedOutcomes" >> beam.Map(lambda _: "failed")


def failure(origin: str, error: BaseException) -> beam.pvalue.TaggedOutput:
    """Counts a failed input (the pipeline counts the failures file's lines) and tags it for that file,
    with a readable one-line reason."""
    counter("failed").inc()
    reason = reason_of(error)
    if not isinstance(error, (UserError, OSError, ValueError)):  # an unexpected kind: its name helps a bug report
        kind = type(error)
        reason = f"{kind.__name__ if kind.__module__ == 'builtins' else kind.__module__ + '.' + kind.__name__}: {reason}"
    return beam.pvalue.TaggedOutput("failed", (origin, reason))


def counter(name: str) -> Any:
    return Metrics.counter(NAMESPACE, name)


TALLY = "tally"
COUNTS_FILE = "_counts.json"


def tally(name: str) -> beam.pvalue.TaggedOutput:
    """One input's outcome: a tagged element the pipeline counts itself (CountOutcomes), because
    runners report metrics differently or not at all; the counter is for watching a run."""
    counter(name).inc()
    return beam.pvalue.TaggedOutput(TALLY, name)


class CountOutcomes(beam.PTransform):
    """Outcome names from every step -> {name: count}, written by the pipeline as JSON to `path`: the
    counts every report is made of, exact on any runner (one file, written once)."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def expand(self, pcolls: Iterable[beam.PCollection]) -> beam.PCollection:
        return (pcolls
                | "AllOutcomes" >> beam.Flatten()
                | "CountEach" >> beam.combiners.Count.PerElement()
                | "AsOneDict" >> beam.combiners.ToDict()
                | "WriteCounts" >> beam.Map(_write_counts, self.path))


def _write_counts(counts, path):
    remote.create(path + ".tmp", json.dumps(dict(sorted(counts.items())), indent=1).encode(), "application/json")
    remote.rename([path + ".tmp"], [path])  # a reader finds the whole file or none


def forget_outcomes(path: str) -> None:
    """Removes the counts a killed run may have left, before a new run writes its own."""
    for stale in (path, path + ".tmp"):
        if remote.exists(stale):
            remote.delete([stale])


def read_outcomes(path: str) -> dict:
    """The counts CountOutcomes wrote (then removed: the report holds them)."""
    counts = json.loads(remote.read_bytes(path))
    remote.delete([path])
    return counts


def failure_line(path: str, reason: str) -> str:
    return json.dumps({"path": path, "reason": reason}, ensure_ascii=False)


def write_json(tree: Any, relpath: str, obj: Any) -> None:
    """Writes a JSON report into an output folder (an outputs.OutputTree), atomically."""
    tree.write(relpath, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


@contextlib.contextmanager
def workers_log(path: str, quiet: bool = True) -> Iterator[TextIO]:
    """While a local pipeline runs, its workers' log lines (Beam's harness, TensorFlow) go to `path`,
    not the terminal; yields the terminal's stream, for the progress bar. quiet=False changes nothing."""
    if not quiet:
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    os.dup2(fd, 2)  # worker processes inherit fd 2
    os.close(fd)
    terminal = os.fdopen(os.dup(saved), "w")
    # The workers' lines reach this process through the runner's log stream (at INFO), and do not
    # always reach their own stderr: while stderr is the log file, keep them all.
    loggers = [logging.getLogger(), logging.getLogger("apache_beam")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
    try:
        yield terminal
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        terminal.close()


@contextlib.contextmanager
def watched(tree: Any, log_name: str, total: int | None, beam_args: Sequence[str], verbose: bool,
            in_process: bool = False) -> Iterator[str | None]:
    """What a person sees of a local run: one progress bar over all its workers, with their log lines
    sent to `log_name` in the output folder (a temporary file for gs:// outputs) unless `verbose`.
    Yields the folder the workers publish their progress to (None on a remote runner)."""
    from pipeline import progress
    local = in_process or is_local(beam_args)
    log_path = tree.path(log_name) if not tree.remote else os.path.join(tempfile.gettempdir(), f"colorize-{log_name}")
    with workers_log(log_path, quiet=local and not in_process and not verbose) as terminal, \
            progress.Bar(total, "photos", terminal, local=local) as bar:
        yield bar.folder
