"""`colorize evaluate`: the model beside the grayscale baseline (ab = 0), on records or on a photo folder.

Writes REPORT/metrics.json (overall and per image) and REPORT/comparison.png (grayscale input | model |
original). The evaluation itself is model/evaluate.py; metric definitions: model/metrics.py.
"""
import argparse

from model import evaluate, modeldir
from pipeline import outputs, sources
from tfrecords import contract as c
from tfrecords.errors import UserError, non_negative_float, positive_int
from tfrecords.photos import ImageError, SkipImage, is_image_name

COMPARISON_ROWS = 6


def parse_args(argv):
    p = argparse.ArgumentParser(prog="colorize evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model directory (default: the model shipped with colorize)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="output folder of 'colorize preprocess'")
    src.add_argument("--images", help="folder of colour photos")
    p.add_argument("--split", default="val", choices=c.SPLITS)
    p.add_argument("--limit", type=positive_int, default=None, help="evaluate at most N records")
    p.add_argument("--report", required=True, help="folder for metrics.json and comparison.png")
    p.add_argument("--vividness", type=non_negative_float, default=1.0,
                   help="scales the predicted colours' chroma, as 'colorize run --vividness' (default 1)")
    p.add_argument("--verbose", action="store_true", help="show the libraries' log lines")
    return p.parse_args(argv)


def photos_in(folder):
    """(relative path, bytes or the ImageError that stops it) of every file in a folder, read one at a time."""
    for f in sources.list_files(folder):
        try:
            if not is_image_name(f.path):
                raise SkipImage("not an image file")
            yield f.relpath, sources.read_file(f.path, sources.DEFAULT_MAX_FILE_MB << 20)
        except (UserError, OSError) as e:
            yield f.relpath, e if isinstance(e, ImageError) else ImageError(str(e))


def main(argv=None):
    args = parse_args(argv)
    outputs.check_folder(args.report, "--report")
    model, card = modeldir.load(args.model)
    if args.data:
        info = c.read_dataset_json(args.data)
        result = evaluate.on_records(model, card, args.data, args.split, info, args.limit, COMPARISON_ROWS,
                                     args.vividness)
    else:
        result = evaluate.on_photos(model, card, photos_in(args.images), f"photos in {args.images}", COMPARISON_ROWS,
                                    args.vividness)
    result["vividness"] = args.vividness
    print(evaluate.write_report(result, args.report, args.model, card))
    print(f"wrote {args.report}/metrics.json and comparison.png")
    return 0
