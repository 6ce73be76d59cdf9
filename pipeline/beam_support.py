"""Shared Beam plumbing: the local runner default, spreading work, counters, failures, the workers' log."""
import contextlib
import json
import logging
import os
import sys
import tempfile
import tarfile
import zipfile

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from tfrecords.errors import UserError, reason_of

NAMESPACE = "colorize"
# What reading, decoding and writing one photo may raise: a listed failure of that photo, not of the
# run (ImageError, TooLarge and OutputError are UserErrors). Anything else is a bug.
PHOTO_ERRORS = (UserError, OSError, ValueError, EOFError, tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile)
log = logging.getLogger("colorize")


def is_local(beam_args):
    """Whether the pipeline runs on this machine (no --runner given)."""
    return not any(a == "--runner" or a.startswith("--runner=") for a in beam_args)


def make_pipeline(beam_args):
    """A Pipeline from Beam flags. With no --runner: the in-process FnApiRunner on every core.

    Beam's default DirectRunner first tries to download the Prism runner binary; choosing the
    runner explicitly keeps local runs offline and quiet.
    """
    if not is_local(beam_args):
        return beam.Pipeline(options=PipelineOptions(beam_args))
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    local = ["--direct_num_workers", str(os.cpu_count() or 1), "--direct_running_mode", "multi_processing",
             "--default_sdk_harness_log_level", "WARNING",
             "--sdk_harness_log_level_overrides", '{"colorize": "INFO"}']
    has = {a.split("=")[0] for a in beam_args}
    extra = [] if "--direct_num_workers" in has else local
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

    def expand(self, pcoll):
        return (pcoll
                | "Chunk" >> beam.BatchElements(min_batch_size=self.size, max_batch_size=self.size)
                | "Reshuffle" >> beam.Reshuffle()
                | "Unchunk" >> beam.FlatMap(lambda chunk: chunk))


def chunk_size(n, batch_size):
    """Chunks of up to batch_size, but at least 4 chunks a core, so no worker idles at the end."""
    return max(1, min(batch_size, -(-n // (4 * (os.cpu_count() or 1)))))


class WriteFailures(beam.PTransform):
    """(origin, reason) pairs from every step, plus those the launcher found -> one JSON line each, in
    `path_prefix` + .jsonl (one file, so a person can read it)."""

    def __init__(self, path_prefix, found_by_launcher=()):
        super().__init__()
        self.path_prefix, self.found = path_prefix, list(found_by_launcher)

    def expand(self, pcolls):
        pcolls = list(pcolls)
        if self.found:
            pcolls.append(pcolls[0].pipeline | "FoundByLauncher" >> beam.Create(self.found))
        return (pcolls
                | "AllFailures" >> beam.Flatten()
                | "FailureLines" >> beam.MapTuple(failure_line)
                | "WriteFailures" >> beam.io.WriteToText(self.path_prefix, file_name_suffix=".jsonl",
                                                          shard_name_template=""))


def failure(origin, error):
    """Counts a failed input and tags it for the failures file, with a readable one-line reason."""
    counter("failed").inc()
    return beam.pvalue.TaggedOutput("failed", (origin, reason_of(error)))


def counter(name):
    return Metrics.counter(NAMESPACE, name)


def read_counters(result):
    """{name: value} of the colorize counters of a finished pipeline."""
    counts = {}
    for m in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
        value = m.committed if m.committed is not None else m.attempted
        counts[m.key.metric.name] = counts.get(m.key.metric.name, 0) + (value or 0)
    return counts


def failure_line(path, reason):
    return json.dumps({"path": path, "reason": reason}, ensure_ascii=False)


def write_json(tree, relpath, obj):
    """Writes a JSON report into an output folder (an outputs.OutputTree), atomically."""
    tree.write(relpath, (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


@contextlib.contextmanager
def workers_log(path, quiet=True):
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
    try:
        yield terminal
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        terminal.close()


@contextlib.contextmanager
def watched(tree, log_name, total, beam_args, verbose, in_process=False):
    """What a person sees of a local run: one progress bar over all its workers, with their log lines
    sent to `log_name` in the output folder (a temporary file for gs:// outputs) unless `verbose`.
    Yields the folder the workers publish their progress to (None on a remote runner)."""
    from pipeline import progress
    local = in_process or is_local(beam_args)
    log_path = tree.path(log_name) if not tree.remote else os.path.join(tempfile.gettempdir(), f"colorize-{log_name}")
    with workers_log(log_path, quiet=local and not in_process and not verbose) as terminal, \
            progress.Bar(total, "photos", terminal, local=local) as bar:
        yield bar.folder
