"""The one launch sequence of both Beam stages (`colorize run`, `colorize preprocess`):

    output tree -> lock -> leftovers of killed runs -> progress bar + workers' log -> pipeline (local or not)
      -> build the stage's graph -> run -> a full disk becomes DiskFull -> the outcomes the pipeline counted
      -> the stage's report, written while the lock is still held -> a copy of this run's record files
         (report, failures, log) in OUTPUT/_runs/<UTC start>-<pid>/, so a rerun never erases an earlier run's

The runner and every flag were checked when the command parsed them (commands/flags.py), before this starts.
"""
import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

from apache_beam import Pipeline

from basics import remote
from basics.errors import DiskFull, reason_of
from pipeline import outputs
from pipeline.beam_support import (COUNTS_FILE, dry_run_report, forget_outcomes, is_dry_run, log, make_pipeline,
                                   read_outcomes, watched)


@dataclasses.dataclass(frozen=True)
class Launch:
    """One stage's run: where it writes and how it is watched."""
    command: str                    # "run" or "preprocess": names the lock's holder and a dry run
    output: str                     # the output folder, local or gs://
    log_name: str                   # the workers' log file in it
    beam_temp_prefixes: tuple[str, ...]  # Beam's temporary folders of this stage's writes (beam-temp-PREFIX-...)
    total: int | None               # inputs the progress bar counts to (None: unknown)
    beam_args: tuple[str, ...]
    verbose: bool
    record: tuple[str, ...] = ()    # files of the output folder that make a run's record, kept per run in _runs/
    in_process: bool = False        # a small local job: run in this process, not in a worker process per core


def launch(job: Launch, build: Callable[[Pipeline, outputs.OutputTree, str | None], None],
           report: Callable[[dict, outputs.OutputTree], Any], test_pipeline: Pipeline | None = None,
           finish: Callable[[Any, outputs.OutputTree], None] | None = None) -> Any:
    """Runs a stage: build(pipeline, output tree, progress folder) adds its graph; report(counts, tree) turns the
    counts its pipeline wrote into the stage's report (and writes it), under the lock; finish(report, tree), once
    this run's record is kept, writes what sums up the whole folder. Returns that report, or a dry run's list of
    steps."""
    tree = outputs.OutputTree(job.output)
    started = time.time()
    with outputs.lock(tree.root, job.command):
        removed = outputs.remove_leftovers(tree.root, list(job.beam_temp_prefixes))
        if removed:
            log.info("removed %d temporary file(s) or folder(s) left by an interrupted run", removed)
        with watched(tree, job.log_name, job.total, job.beam_args, job.verbose,
                     in_process=test_pipeline is not None) as progress_folder:
            forget_outcomes(tree.path(COUNTS_FILE))
            p = test_pipeline or make_pipeline(list(job.beam_args), job.in_process)
            build(p, tree, progress_folder)
            try:
                result = p.run()
                result.wait_until_finish()
            except Exception as e:  # a worker's error, re-raised by the runner; only a full disk is expected
                if not outputs.is_disk_full(e):
                    raise
                raise DiskFull(f"no space left on the disk of {tree.root}: the run stopped before its end, and "
                               "everything written is whole. Free some space and run the same command again "
                               "to finish") from None
        if is_dry_run(job.beam_args):
            return dry_run_report(result, f"colorize {job.command}", tree.root)
        made = report(read_outcomes(tree.path(COUNTS_FILE)), tree)
        if job.record:  # a stage that keeps a record per run reports with a record and a not_written field
            made.record, not_written = keep_record(tree, job.record, started)
            made.not_written = not_written or made.not_written
        if finish:
            finish(made, tree)
        return made


RUNS = "_runs"


def keep_record(tree: outputs.OutputTree, names: tuple[str, ...], started: float) -> tuple[str | None, str | None]:
    """Copies this run's record files into _runs/<UTC start>-<pid>/; returns (where, None), or (None, why) when a
    copy cannot be written, said as a report that cannot be: the photos are whole either way."""
    base = f"{RUNS}/{time.strftime('%Y%m%d-%H%M%S', time.gmtime(started))}-{os.getpid()}"
    folder, n = base, 1
    try:
        while tree.exists(f"{folder}/{names[0]}"):  # two runs of one process within a second
            n += 1
            folder = f"{base}-{n}"
        for name in names:
            if tree.exists(name):
                tree.write(f"{folder}/{name}", remote.read_bytes(tree.path(name)) if tree.remote else
                           _read_local(tree.path(name)))
    except (OSError, outputs.OutputError) as e:
        return None, f"this run's record in {tree.path(folder)} could not be written: {reason_of(e)}"
    return tree.path(folder), None


def _read_local(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
