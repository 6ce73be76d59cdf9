"""`colorize preprocess`: image folders and tfds datasets -> sharded TFRecords of L, ab and embeddings.

Graph: CreateInputs -> Spread -> DecodeAndPrepare (ok / skipped / failed) -> [EmbedInception]
-> EncodeRecords -> SplitTrainVal -> Write{Train,Val}; failures go to failures.jsonl; every step's
outcomes -> CountOutcomes -> _counts.json, from which the launcher writes dataset.json: counts the
pipeline made itself (exact on any runner), which add up to the inputs matched.
"""
import argparse
import math
import time

import apache_beam as beam
import numpy as np

from pipeline import outputs, progress, sources
from pipeline.embedding import EmbedInception, compiles_each_shape
from pipeline.beam_support import (COUNTS_FILE, PHOTO_ERRORS, SHARE_HELP, TALLY, CountOutcomes, Spread, WriteFailures,
                                   chunk_size, counter, check_flags, dry_run_report, failure, forget_outcomes, is_dry_run,
                                   log, make_pipeline, read_outcomes, tally, watched, write_json)
from tfrecords import contract as c
from tfrecords import photos, records, view
from tfrecords.errors import positive_int

RECORDS_PER_SHARD = 1000


class PrepareTrainingExample(progress.Counting, beam.DoFn):
    """(source, split key, pixels or None) -> ((source, split key, l, ab), grey); tags skipped / failed.

    The split key is the path relative to the input folder (or the tfds example name), so that the
    same photos give the same split wherever the folder lies: local, mounted elsewhere or on gs://.
    """

    def __init__(self, image_size, max_pixels, max_bytes, with_grey, progress_folder=None):
        self.image_size, self.max_pixels, self.max_bytes, self.with_grey = image_size, max_pixels, max_bytes, with_grey
        self.progress_folder = progress_folder

    def setup(self):
        super().setup()  # the bar counts skips and failures here; records in EncodeRecords
        self.check_head = photos.head_checker(self.max_pixels)

    def process(self, element):
        source, split_key, pixels = element
        if isinstance(source, bytes):  # a file: its path and relative path travel as bytes (sources.wire)
            path = sources.unwire(source)  # the split key stays bytes: Beam encodes str as strict UTF-8
            source = sources.readable(path)
        try:
            if pixels is None:
                if not photos.is_image_name(path):
                    raise photos.SkipImage("not an image file", "by its name's extension")
                rgb = photos.decode_rgb(sources.read_file(path, self.max_bytes, self.check_head), self.max_pixels)
            else:
                pixels = pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels
                rgb = np.asarray(photos.to_rgb(photos.Image.fromarray(pixels)))
            l_q, ab_q, grey = view.training_example(rgb, self.image_size)
        except photos.SkipImage as e:
            self.ticker.tick()
            yield tally("skipped")
            yield tally("skipped: " + e.kind)
            yield beam.pvalue.TaggedOutput("skipped", (source, str(e)))
            return
        except PHOTO_ERRORS as e:
            self.ticker.tick()
            yield failure(source, e)
            return
        yield (source, split_key, l_q.tobytes(), ab_q.tobytes()), (grey if self.with_grey else None)


class EncodeRecords(progress.Counting, beam.DoFn):
    def __init__(self, image_size, val_fraction, progress_folder=None):
        self.image_size, self.val_fraction, self.progress_folder = image_size, val_fraction, progress_folder

    def process(self, element):
        key, embedding = element
        split = c.split_of(key[1], self.val_fraction)
        yield tally(f"written_{split}")
        self.ticker.tick()
        source, _, l_bytes, ab_bytes = key
        s = self.image_size
        l_q, ab_q = np.frombuffer(l_bytes, np.uint8).reshape(s, s), np.frombuffer(ab_bytes, np.int8).reshape(s, s, 2)
        yield split, records.encode_example(source, l_q, ab_q, embedding)


def read_tfds(spec, data_dir=None):
    """Yields (tfds:NAME:SPLIT/INDEX, the same as split key, uint8 pixels) for every example of a tfds split."""
    import tensorflow_datasets as tfds
    src = sources.TfdsSource.parse(spec)
    ds = tfds.load(src.name, split=src.split, data_dir=data_dir, shuffle_files=False)
    for i, ex in enumerate(tfds.as_numpy(ds)):
        counter("matched").inc()  # for watching; the report counts the elements (build)
        yield f"{spec}/{i}", f"{spec}/{i}", ex["image"]


def shard_count(n, fraction):
    return max(1, math.ceil(n * fraction / RECORDS_PER_SHARD)) if n else 0


def inception_chunk(embeds, batch_size):
    """Photos that travel together to one worker, so at most this many meet in one Inception batch.

    TensorFlow runs a batch of any length as it is, and Inception on a CPU gains little from batches:
    photo by photo (chunks of one) keeps every worker busy to the end. On JAX every batch shape compiles,
    and on a GPU every batch is padded to the batch size (model.inference.Compiled), so photos arriving
    one by one would each cost a whole batch of Inception (on a GPU preprocess ran at a fraction of the
    CPU side's rate): there chunks of up to a batch, taken by Inception as whole batches. Without
    Inception nothing is batched."""
    return batch_size if embeds and compiles_each_shape() else 1


def build(p, args, files, tfds_specs, spec, refused=(), progress_folder=None):
    """Adds the preprocess graph to pipeline `p`."""
    elements = [(sources.wire(f.path), sources.wire(f.relpath), None) for f in files]
    chunk = inception_chunk(spec is not None, args.batch_size)
    inputs = p | "CreateInputs" >> beam.Create(elements) | "Spread" >> Spread(chunk_size(len(elements), chunk))
    if tfds_specs:
        from_tfds = (p | "CreateTfdsSources" >> beam.Create(tfds_specs)
                     | "ReadTfds" >> beam.FlatMap(read_tfds, data_dir=args.tfds_data_dir)
                     | "SpreadTfds" >> Spread(chunk))
        inputs = (inputs, from_tfds) | "AllInputs" >> beam.Flatten()
    prepared = (inputs
                | "DecodeAndPrepare" >> beam.ParDo(PrepareTrainingExample(
                    args.image_size, args.max_pixels, args.max_file_mb << 20, spec is not None, progress_folder))
                .with_outputs("skipped", "failed", TALLY, main="ok"))
    examples = prepared.ok
    if spec is not None:
        examples = examples | "EmbedInception" >> EmbedInception(args.inception_weights, spec.weights_sha256,
                                                                 args.batch_size, args.share_model)
    encoded = examples | "EncodeRecords" >> beam.ParDo(EncodeRecords(args.image_size, args.val_fraction,
                                                                      progress_folder)).with_outputs(TALLY, main="ok")
    outcomes = [prepared[TALLY], encoded[TALLY]]
    encoded = encoded.ok
    train, val = encoded | "SplitTrainVal" >> beam.Partition(lambda kv, _: 0 if kv[0] == "train" else 1, 2)
    n = len(files) or 4 * RECORDS_PER_SHARD
    for name, pcoll, fraction in (("train", train, 1 - args.val_fraction), ("val", val, args.val_fraction)):
        (pcoll | f"Values{name.title()}" >> beam.Values()
         | f"Write{name.title()}" >> beam.io.WriteToTFRecord(
             f"{args.output.rstrip('/')}/{name}", file_name_suffix=c.RECORD_SUFFIX,
             num_shards=shard_count(n, fraction) or 1, shard_name_template="-SSSSS-of-NNNNN",
             compression_type=beam.io.filesystem.CompressionTypes.GZIP))
    failed = (prepared.failed,) | "Failures" >> WriteFailures(f"{args.output.rstrip('/')}/failures", refused)
    if tfds_specs:
        outcomes.append(from_tfds | "MatchedOutcomes" >> beam.Map(lambda _: "matched"))
    (*outcomes, failed) | "CountOutcomes" >> CountOutcomes(f"{args.output.rstrip('/')}/{COUNTS_FILE}")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="colorize preprocess", description=__doc__.splitlines()[0])
    parser.add_argument("--input", action="append", required=True,
                        help="folder (recursive), glob, gs:// path or tfds:NAME[/CONFIG][:SPLIT]; repeatable")
    parser.add_argument("--output", required=True, help="folder for the records, dataset.json and failures.jsonl")
    parser.add_argument("--image-size", type=int, default=c.DEFAULT_IMAGE_SIZE,
                        help="side of the square the records hold, a multiple of 8 (32 for a pretrained encoder; "
                             f"default {c.DEFAULT_IMAGE_SIZE})")
    parser.add_argument("--embedding", choices=["inception_resnet_v2", "none"], default="inception_resnet_v2",
                        help="inception_resnet_v2 (default): each record carries Inception's embedding of the "
                             "photo, for --model fusion; none: no embedding (beta, faster)")
    parser.add_argument("--inception-weights", default="imagenet",
                        help="imagenet (Keras download/cache), random[:SEED] (offline tests) or a weights FILE")
    parser.add_argument("--val-fraction", type=float, default=0.05,
                        help="share of the photos held out for validation, chosen by a hash of each photo's "
                             "relative path, so reruns and 'colorize evaluate --held-out' agree (default 0.05)")
    parser.add_argument("--batch-size", type=positive_int, default=32, help="Inception batch size")
    parser.add_argument("--max-pixels", type=positive_int, default=c.DEFAULT_MAX_PIXELS,
                        help="refuse images with more pixels, from their header (decompression bombs; default "
                             f"{c.DEFAULT_MAX_PIXELS:,})")
    parser.add_argument("--max-file-mb", type=positive_int, default=sources.DEFAULT_MAX_FILE_MB,
                        help="refuse a file larger than this many MiB, before reading it "
                             f"(default {sources.DEFAULT_MAX_FILE_MB})")
    parser.add_argument("--tfds-data-dir", default=None, help="tensorflow-datasets data_dir")
    parser.add_argument("--share-model", action="store_true", help="Inception: " + SHARE_HELP)
    parser.add_argument("--verbose", action="store_true", help="show Beam's and TensorFlow's logs instead of a progress bar")
    args, beam_args = parser.parse_known_args(argv)
    check_flags("preprocess", beam_args, parser)
    if not 0 <= args.val_fraction < 1:
        parser.error("--val-fraction must be in [0, 1)")
    if args.image_size < 32 or args.image_size % 8:
        parser.error("--image-size must be a multiple of 8, at least 32")
    return args, beam_args


def run(argv=None, test_pipeline=None):
    """Runs the job; returns the dataset.json dict. Raises sources.InputError / WeightsError."""
    args, beam_args = parse_args(argv)
    start = time.time()
    outputs.check_folder(args.output)
    tfds_specs = [s for s in args.input if s.startswith(sources.TFDS_PREFIX)]
    files, refused = [], []
    for s in args.input:
        if s in tfds_specs:
            continue
        if not sources.is_remote(s) and sources.real(sources.root_of(s)) == sources.real(args.output):
            raise outputs.OutputError(f"--output {args.output} is the input folder {s}: records and photos would mix; "
                                      "choose another folder")
        listing = sources.list_inputs(s, exclude=args.output)
        files += listing.files
        refused += listing.refused
    if not files and not tfds_specs:
        raise sources.InputError(f"no files found in {', '.join(args.input)}: nothing to preprocess")
    spec = None
    if args.embedding != "none":
        from model.inception import build_inception
        log.info("building Inception-ResNet-v2 (%s weights) to identify its embedding", args.inception_weights)
        spec = build_inception(args.inception_weights)[1]
    log.info("preprocessing %d files%s into %s", len(files),
             f" and {len(tfds_specs)} tfds source(s)" if tfds_specs else "", args.output)
    tree = outputs.OutputTree(args.output)
    with outputs.lock(tree.root, "preprocess"):
        outputs.remove_leftovers(tree.root, ["train", "val", "failures"])
        with watched(tree, "preprocess.log", len(files) if not tfds_specs else None, beam_args, args.verbose,
                     in_process=test_pipeline is not None) as progress_folder:
            forget_outcomes(f"{args.output.rstrip('/')}/{COUNTS_FILE}")
            p = test_pipeline or make_pipeline(beam_args)
            build(p, args, files, tfds_specs, spec, refused, progress_folder)
            result = p.run()
            result.wait_until_finish()
        if is_dry_run(beam_args):
            return dry_run_report(result, "colorize preprocess", args.output)
        counts = read_outcomes(f"{args.output.rstrip('/')}/{COUNTS_FILE}")
        counts["failed"] = counts.get("failed", 0) + len(refused)
        info = dataset_info(args, spec, counts, len(files) + len(refused), time.time() - start)
        write_json(tree, c.DATASET_JSON, info)
    info["output"] = args.output
    info["failures"] = f"{args.output.rstrip('/')}/{c.FAILURES_JSONL}"
    return info


def dataset_info(args, spec, counts, n_files, seconds):
    written = {s: counts.get(f"written_{s}", 0) for s in c.SPLITS}
    matched = n_files + counts.get("matched", 0)
    return {
        "schema_version": c.SCHEMA_VERSION,
        "image_size": args.image_size,
        "lab_scaling": {"l": f"L / {c.L_SCALE} - 1", "ab": f"ab / {c.AB_DIVISOR}",
                        "l_record": "uint8 round(L * 255 / 100)", "ab_record": f"int8 round(ab / {c.AB_DIVISOR} * 127)"},
        "crop": f"{view.TRAINING_VIEW}: short side resized to image_size (Lanczos)",
        "embedding": spec.to_dict() if spec else None,
        "inputs": [str(s) for s in args.input],
        "val_fraction": args.val_fraction,
        "counts": {
            "matched": matched,
            "written": sum(written.values()),
            "skipped": counts.get("skipped", 0),
            "failed": counts.get("failed", 0),
            "per_split": written,
            "skipped_by_reason": {k.split(": ", 1)[1]: v for k, v in sorted(counts.items())
                                  if k.startswith("skipped: ")},
        },
        "seconds": round(seconds, 1),
    }
