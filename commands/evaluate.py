"""`colorize evaluate`: the model beside the grayscale baseline (ab = 0), on records or on a photo folder.

Beside AuC, acc@k, PSNR and colourfulness it prints the hue table (model/metrics.py) and the semantic test
(model/semantic.py). Writes REPORT/metrics.json (overall and per image) and REPORT/comparison.png (grayscale input | model |
original). The evaluation itself is model/evaluate.py; metric definitions: model/metrics.py.
"""
import argparse
import sys
from collections.abc import Iterator

from model import evaluate, modeldir, semantic
from pipeline import outputs, sources
from tfrecords import contract as c
from basics.errors import UserError
from commands.flags import refuse_unknown, import_tensorflow_quietly, non_negative_float, positive_int
from basics.photos import ImageError, SkipImage, is_image_name

COMPARISON_ROWS = 6


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(allow_abbrev=False, prog="colorize evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model directory (default: the model shipped with colorize)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="output folder of 'colorize preprocess'")
    src.add_argument("--images", action="append", help="folder of colour photos; repeatable (the photos pooled)")
    p.add_argument("--split", default="val", choices=c.SPLITS, help="with --data: the records' split (default val)")
    p.add_argument("--held-out", type=_fraction, default=None, metavar="FRACTION",
                   help="with --images: only the photos that 'colorize preprocess --val-fraction FRACTION' of the "
                        "same folders puts in the validation split (scored at full resolution); default: every photo")
    p.add_argument("--limit", type=positive_int, default=None, help="evaluate at most N records")
    p.add_argument("--report", required=True, help="folder for metrics.json and comparison.png")
    p.add_argument("--vividness", type=non_negative_float, default=1.0,
                   help="scales the predicted colours' chroma, as 'colorize run --vividness' (default 1)")
    p.add_argument("--hint-points", type=int, default=0, metavar="N",
                   help="give a model that takes colour hints N points per photo, each the mean colour of a 5x5 "
                        "square of the original at a random place (the same places for every model): how much a "
                        "reviewer's clicks would help (default 0, the automatic colorization)")
    p.add_argument("--no-semantic", action="store_true",
                   help="skip the semantic test (an ImageNet classifier's top-1 class of each colorization against "
                        "the original's; it needs the [encoders] extra and costs a classifier pass per photo)")
    p.add_argument("--verbose", action="store_true", help="show the libraries' log lines")
    refuse_unknown("evaluate", sys.argv[1:] if argv is None else argv, p)
    args = p.parse_args(argv)
    if args.held_out and not args.images:
        p.error("--held-out picks photos of --images folders; records keep their split (--split)")
    if not 0 <= args.hint_points <= 100:
        p.error(f"--hint-points {args.hint_points}: from 0 to 100")
    return args


def _fraction(text):
    value = non_negative_float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1")
    return value


def photos_in(folder: str, held_out: float | None = None) -> Iterator[tuple[str, bytes | Exception]]:
    """(relative path, bytes or the ImageError that stops it) of every file in a folder, read one at a time;
    held_out: only the files preprocess's split rule (c.split_of, on the same relative path) makes validation."""
    listing = sources.list_inputs(folder)
    for path, why in listing.folders_skipped:  # said with the files not scored, never silently left out
        yield path, ImageError(f"folder not entered: {why}")
    for f in listing.files:
        if held_out and c.split_of(f.relpath, held_out) != "val":
            continue
        try:
            if not is_image_name(f.path):
                raise SkipImage("not an image file")
            yield f.relpath, sources.read_file(f.path, sources.DEFAULT_MAX_FILE_MB << 20)
        except (UserError, OSError) as e:
            yield f.relpath, e if isinstance(e, ImageError) else ImageError(str(e))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    outputs.check_folder(args.report, "--report")
    if not args.verbose:
        import_tensorflow_quietly()  # once the flags are good: loading the model imports it
    model, card = modeldir.load(args.model)
    if args.hint_points and not card.get("hints"):
        raise UserError(f"--hint-points {args.hint_points}: the model {args.model or '(shipped default)'} takes no "
                        "colour hints")
    judge, why_not = (None, "--no-semantic") if args.no_semantic else semantic.judge_for(card)
    if args.data:
        info = c.read_dataset_json(args.data)
        result = evaluate.on_records(model, card, args.data, args.split, info, args.limit, COMPARISON_ROWS,
                                     args.vividness, judge, args.hint_points)
    else:
        what = ("held-out " if args.held_out else "") + "photos in " + ", ".join(args.images)
        photos = ((f"{folder.rstrip('/')}/{name}" if len(args.images) > 1 else name, data)
                  for folder in args.images for name, data in photos_in(folder, args.held_out))
        result = evaluate.on_photos(model, card, photos, what, COMPARISON_ROWS, args.vividness, judge,
                                    args.hint_points)
    if why_not:
        result["semantic_skipped"] = why_not
    result["vividness"] = args.vividness
    result["hint_points"] = args.hint_points
    print(evaluate.write_report(result, args.report, args.model, card))
    print(f"wrote {args.report}/metrics.json and comparison.png")
    return 0
