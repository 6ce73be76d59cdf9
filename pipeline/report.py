"""The record of one `colorize run`, typed: the pipeline makes it (colorize.run), writes it as _report.json, and the
command's summary (commands/run.py) and the gallery (gallery.py) read its fields, never keys spelled by hand.

    counts the pipeline wrote (_counts.json) --colorize.run--> RunReport --to_json--> _report.json (and _runs/)
                                                                        --> gallery header, command summary
"""
import dataclasses
from typing import Any


@dataclasses.dataclass
class Counts:
    """What became of every input; matched = colorized + skipped_done + skipped_not_image + failed. Folders not
    entered are counted apart: the files in them were never matched."""
    matched: int = 0
    colorized: int = 0
    skipped_done: int = 0
    skipped_not_image: int = 0
    failed: int = 0
    folders_skipped: int = 0


@dataclasses.dataclass
class RunReport:
    input: str                 # the --input, readable
    output: str                # the output folder
    model: dict                # dir, architecture, image_size
    counts: Counts
    had_colour: int            # inputs that carried colour (a sepia print scanned in colour): coloured anew
    seconds: float
    in_process: bool           # a small local job, run in the command's process (plan.runs_in_process)
    failures: str              # _failures.jsonl's path
    skipped: str               # _skipped.jsonl's path
    record: str | None = None  # this run's record folder in _runs/
    folder: dict | None = None  # the whole folder summed up (_summary.json)
    gallery: str | None = None  # index.html's path
    not_written: str | None = None  # what could not be written (the report, the record, the gallery), said once

    def to_json(self) -> dict[str, Any]:
        """_report.json's form: every field that has a value."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
