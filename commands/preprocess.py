"""`colorize preprocess`: its flags, checked before anything starts, and the summary it prints; the stage
itself is pipeline/preprocess.py, which takes the frozen PreprocessOptions made here."""
import argparse
import sys
from typing import Any

from basics.photos import DEFAULT_MAX_PIXELS
from commands.flags import (SHARE_HELP, VERBOSE_HELP, dry_run_summary, import_tensorflow_quietly, positive_int,
                            split_beam_args)
from pipeline.options import PreprocessOptions
from pipeline.sources import DEFAULT_MAX_FILE_MB
from tfrecords import contract as c


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        allow_abbrev=False, prog="colorize preprocess", description="image folders and tfds datasets -> "
                                "sharded TFRecords of L, ab and embeddings (a Beam pipeline)")
    p.add_argument("--input", action="append", required=True,
                   help="folder (recursive), glob, gs:// path or tfds:NAME[/CONFIG][:SPLIT]; repeatable")
    p.add_argument("--output", required=True, help="folder for the records, dataset.json and failures.jsonl")
    p.add_argument("--image-size", type=int, default=c.DEFAULT_IMAGE_SIZE,
                   help="side of the square the records hold, a multiple of 8 (32 for a pretrained encoder; "
                        f"default {c.DEFAULT_IMAGE_SIZE})")
    p.add_argument("--embedding", choices=["inception_resnet_v2", "none"], default="inception_resnet_v2",
                   help="inception_resnet_v2 (default): each record carries Inception's embedding of the "
                        "photo, for --architecture fusion; none: no embedding (beta, faster)")
    p.add_argument("--inception-weights", default="imagenet",
                   help="imagenet (Keras download/cache), random[:SEED] (offline tests) or a weights FILE")
    p.add_argument("--val-fraction", type=float, default=0.05,
                   help="share of the photos held out for validation, chosen by a hash of each photo's "
                        "relative path, so reruns and 'colorize evaluate --held-out' agree (default 0.05)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="Inception batch size")
    p.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS,
                   help="refuse images with more pixels, from their header (decompression bombs; default "
                        f"{DEFAULT_MAX_PIXELS:,})")
    p.add_argument("--max-file-mb", type=positive_int, default=DEFAULT_MAX_FILE_MB,
                   help=f"refuse a file larger than this many MiB, before reading it (default {DEFAULT_MAX_FILE_MB})")
    p.add_argument("--tfds-data-dir", default=None, help="tensorflow-datasets data_dir")
    p.add_argument("--share-model", action="store_true", help="Inception: " + SHARE_HELP)
    p.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    return p


def options(argv: list[str]) -> PreprocessOptions:
    """argv -> PreprocessOptions; a bad flag exits 2 with one line (argparse), an unknown one is a UserError."""
    p = parser()
    args, beam_args = split_beam_args(p, "preprocess", argv)
    if not 0 <= args.val_fraction < 1:
        p.error("--val-fraction must be in [0, 1)")
    if args.image_size < 32 or args.image_size % 8:
        p.error("--image-size must be a multiple of 8, at least 32")
    return PreprocessOptions(inputs=tuple(args.input), output=args.output, image_size=args.image_size,
                             embedding=args.embedding, inception_weights=args.inception_weights,
                             val_fraction=args.val_fraction, batch_size=args.batch_size, max_pixels=args.max_pixels,
                             max_file_mb=args.max_file_mb, tfds_data_dir=args.tfds_data_dir,
                             share_model=args.share_model, verbose=args.verbose, beam_args=beam_args)


def job(argv: list[str], test_pipeline: Any = None) -> dict:
    """Parses the flags and runs the stage; returns dataset.json's contents (with output and failures)."""
    opts = options(argv)
    if not opts.verbose:
        import_tensorflow_quietly()
    from pipeline import preprocess  # Beam loads only once the flags are good
    return preprocess.run(opts, test_pipeline)


def summary(info: dict) -> int:
    """Prints what was written; the exit status: 1 when an input failed or no record was written."""
    if info.get("dry_run"):
        return dry_run_summary(info)
    n = info["counts"]
    print(f"matched {n['matched']}: wrote {n['written']} records "
          f"(train {n['per_split']['train']}, val {n['per_split']['val']}), "
          f"skipped {n['skipped']} {n['skipped_by_reason'] or ''}, failed {n['failed']} into {info['output']}")
    if n["failed"]:
        print(f"failures listed in {info['failures']}", file=sys.stderr)
    if n["written"] == 0:
        print("error: no records were written: no usable colour photo among the inputs", file=sys.stderr)
        return 1
    return 1 if n["failed"] else 0


def main(argv: list[str]) -> int:
    return summary(job(argv))
