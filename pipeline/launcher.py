"""The one launch sequence of both Beam stages (`colorize run`, `colorize preprocess`):

    output tree -> lock -> leftovers of killed runs -> progress bar + workers' log -> pipeline (local or not)
      -> build the stage's graph -> run -> a full disk becomes DiskFull -> the outcomes the pipeline counted
      -> the stage's report, written while the lock is still held

The runner and every flag were checked when the command parsed them (commands/flags.py), before this starts.
"""
import dataclasses
from collections.abc import Callable

from apache_beam import Pipeline

from basics.errors import DiskFull
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


def launch(job: Launch, build: Callable[[Pipeline, outputs.OutputTree, str | None], None],
           report: Callable[[dict, outputs.OutputTree], dict], test_pipeline: Pipeline | None = None) -> dict:
    """Runs a stage: build(pipeline, output tree, progress folder) adds its graph; report(counts, tree) turns the
    counts its pipeline wrote into the stage's report (and writes it), under the lock. Returns that report, or
    a dry run's list of steps."""
    tree = outputs.OutputTree(job.output)
    with outputs.lock(tree.root, job.command):
        removed = outputs.remove_leftovers(tree.root, list(job.beam_temp_prefixes))
        if removed:
            log.info("removed %d temporary file(s) or folder(s) left by an interrupted run", removed)
        with watched(tree, job.log_name, job.total, job.beam_args, job.verbose,
                     in_process=test_pipeline is not None) as progress_folder:
            forget_outcomes(tree.path(COUNTS_FILE))
            p = test_pipeline or make_pipeline(list(job.beam_args))
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
        return report(read_outcomes(tree.path(COUNTS_FILE)), tree)
