"""`colorize run`: its flags, checked before anything starts, and the summary it prints; the stage itself is
pipeline/colorize.py, which takes the frozen RunOptions made here."""
import argparse
import os
import sys
from typing import Any

from basics.photos import DEFAULT_MAX_PIXELS
from commands.flags import (SHARE_HELP, VERBOSE_HELP, dry_run_summary, import_tensorflow_quietly, non_negative_float,
                            positive_int, split_beam_args)
from pipeline.options import RunOptions
from pipeline.sources import DEFAULT_MAX_FILE_MB


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        allow_abbrev=False, prog="colorize run", description="a colour copy of every photo of an archive, at "
                                "full resolution, in a mirrored tree (a Beam pipeline)")
    p.add_argument("--input", required=True, help="folder (recursive), glob, gs:// path, or .zip / .tar(.gz) archive")
    p.add_argument("--output", required=True, help="folder for the colour copies (mirrors the input tree)")
    p.add_argument("--model", default=None, help="model directory, local or gs:// (default: the shipped model)")
    p.add_argument("--overwrite", action="store_true", help="redo photos whose colour copy exists")
    p.add_argument("--batch-size", type=positive_int, default=16,
                   help="photos the model colours in one forward pass (default 16; more uses more memory)")
    p.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS,
                   help="refuse images with more pixels, from their header (decompression bombs; default "
                        f"{DEFAULT_MAX_PIXELS:,})")
    p.add_argument("--vividness", type=non_negative_float, default=1.0,
                   help="scales the predicted colours' chroma: 1 (default) is the model as trained, 1.5 louder, "
                        "0.7 quieter, 0 grey")
    p.add_argument("--allow-foreign", action="store_true",
                   help="write into an --output folder that holds files this tool did not write (refused otherwise); "
                        "those files are never taken as done, and a photo whose copy would land on one is a "
                        "listed failure unless --overwrite")
    p.add_argument("--hints", default=None, metavar="FILE",
                   help="colours you know, pinned on photos: JSON Lines, one photo a line, {\"path\": \"a/b.jpg\", "
                        "\"points\": [[x, y, \"#rrggbb\"], ...]}, x and y fractions of the photo's width and height "
                        "(the gallery's photo pages write it); a photo whose hints changed is redone")
    p.add_argument("--share-model", action="store_true", help=SHARE_HELP)
    p.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    p.add_argument("--max-file-mb", type=positive_int, default=DEFAULT_MAX_FILE_MB,
                   help="refuse a file or archive member larger than this many MiB, from its size in the folder "
                        "or the archive's header, before reading it; also caps what is read of a member "
                        f"that lies about its size (default {DEFAULT_MAX_FILE_MB})")
    return p


def options(argv: list[str]) -> RunOptions:
    """argv -> RunOptions; a bad flag exits 2 with one line (argparse), an unknown one is a UserError."""
    args, beam_args = split_beam_args(parser(), "run", argv)
    return RunOptions(input=args.input, output=args.output, model=args.model, overwrite=args.overwrite,
                      batch_size=args.batch_size, max_pixels=args.max_pixels, vividness=args.vividness,
                      share_model=args.share_model, max_file_mb=args.max_file_mb, verbose=args.verbose,
                      beam_args=beam_args, allow_foreign=args.allow_foreign, hints=args.hints)


def job(argv: list[str], test_pipeline: Any = None) -> Any:
    """Parses the flags and runs the stage; returns its report (pipeline.report.RunReport, or a dry run's steps)."""
    opts = options(argv)
    if not opts.verbose:
        import_tensorflow_quietly()
    from pipeline import colorize  # Beam and the model's backend load only once the flags are good
    return colorize.run(opts, test_pipeline)


def summary(report: Any) -> int:
    """Prints what the run did (a RunReport; a dry run's dict of steps); the exit status: 1 when an input failed or
    the report could not be written."""
    if isinstance(report, dict):
        return dry_run_summary(report)
    n = report.counts
    print(f"matched {n.matched}: colorized {n.colorized}, already done {n.skipped_done}, "
          f"not images {n.skipped_not_image}, failed {n.failed} ({report.seconds} s) -> {report.output}")
    if report.had_colour:
        print(f"{report.had_colour} input(s) carried colour (a sepia or tinted print scanned in colour?): coloured "
              "anew from their lightness, their own tint replaced")
    if n.folders_skipped:
        print(f"{n.folders_skipped} folder(s) not entered (links to folders, hidden folders, colorize's own output "
              f"folders): see {report.skipped}")
    folder = report.folder
    if folder and len(folder["runs"]) > 1:
        print(f"the folder now holds {folder['copies']} colour copies, made over {len(folder['runs'])} runs "
              f"(their records: {os.path.join(report.output, '_runs')})")
    if report.gallery:
        print(f"review the results: {report.gallery}")
    if report.not_written:
        print(report.not_written, file=sys.stderr)
    if n.failed:
        print(f"{n.failed} input(s) failed: see {report.failures}", file=sys.stderr)
    return 1 if n.failed or report.not_written else 0


def main(argv: list[str]) -> int:
    return summary(job(argv))
