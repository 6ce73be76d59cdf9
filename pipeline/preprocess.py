"""`colorize preprocess`: image folders and tfds datasets -> sharded TFRecords of L, ab and embeddings.

Graph: CreateInputs -> Spread -> DecodeAndPrepare (ok / skipped / failed) -> [EmbedInception]
-> EncodeRecords -> SplitTrainVal -> Write{Train,Val}; failures go to failures.jsonl; every step's
outcomes -> CountOutcomes -> _counts.json, from which the launcher writes dataset.json: counts the
pipeline made itself (exact on any runner), which add up to the inputs matched.
"""
import math
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import apache_beam as beam
import numpy as np

from basics import photos, view
from basics.paths import is_remote, readable, unwire, wire
from pipeline import outputs, progress, sources
from pipeline.beam_support import (COUNTS_FILE, PHOTO_ERRORS, TALLY, CountOutcomes, Spread, WriteFailures, chunk_size,
                                   counter, failure, log, tally, write_json)
from pipeline.handlers import EmbedInception, compiles_each_shape
from pipeline.launcher import Launch, launch
from pipeline.options import PreprocessOptions
from tfrecords import contract as c
from tfrecords import records

RECORDS_PER_SHARD = 1000
LOG = "preprocess.log"


# What flows between the DoFns.
class Source(NamedTuple):
    """One input: a file (`source` its path as bytes, basics.paths.wire; `pixels` None) or a tfds example (`source`
    its name, `pixels` its image). The split key is the path relative to the input folder (or the example's
    name), so the same photos give the same split wherever the folder lies: local, mounted elsewhere or on
    gs://; it stays bytes, since Beam encodes str as strict UTF-8."""
    source: "bytes | str"
    split_key: "bytes | str"
    pixels: np.ndarray | None


class Example(NamedTuple):
    """A photo's training example as the records hold it (the embedding travels beside it)."""
    source: str       # readable path or tfds name, the record's "source"
    split_key: "bytes | str"
    l: bytes          # uint8 [size, size]
    ab: bytes         # int8 [size, size, 2]


class PrepareTrainingExample(progress.Counting, beam.DoFn):
    """Source -> (Example, Inception's grey or None); tags skipped / failed."""

    def __init__(self, image_size, max_pixels, max_bytes, with_grey, progress_folder=None):
        self.image_size, self.max_pixels, self.max_bytes, self.with_grey = image_size, max_pixels, max_bytes, with_grey
        self.progress_folder = progress_folder

    def setup(self) -> None:
        super().setup()  # the bar counts skips and failures here; records in EncodeRecords
        self.check_head = photos.head_checker(self.max_pixels)

    def process(self, element: Source) -> Iterator[Any]:
        source, split_key, pixels = element
        if isinstance(source, bytes):  # a file
            path = unwire(source)
            source = readable(path)
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
        yield Example(source, split_key, l_q.tobytes(), ab_q.tobytes()), (grey if self.with_grey else None)


class EncodeRecords(progress.Counting, beam.DoFn):
    """(Example, embedding or None) -> (split, the serialized record)."""

    def __init__(self, image_size, val_fraction, progress_folder=None):
        self.image_size, self.val_fraction, self.progress_folder = image_size, val_fraction, progress_folder

    def process(self, element: tuple) -> Iterator[Any]:
        example, embedding = element
        split = c.split_of(example.split_key, self.val_fraction)
        yield tally(f"written_{split}")
        self.ticker.tick()
        s = self.image_size
        l_q = np.frombuffer(example.l, np.uint8).reshape(s, s)
        ab_q = np.frombuffer(example.ab, np.int8).reshape(s, s, 2)
        yield split, records.encode_example(example.source, l_q, ab_q, embedding)


def read_tfds(spec: str, data_dir: str | None = None) -> Iterator[Source]:
    """Yields a Source (named tfds:NAME:SPLIT/INDEX, its own split key) for every example of a tfds split."""
    import tensorflow_datasets as tfds
    src = sources.TfdsSource.parse(spec)
    ds = tfds.load(src.name, split=src.split, data_dir=data_dir, shuffle_files=False)
    for i, ex in enumerate(tfds.as_numpy(ds)):
        counter("matched").inc()  # for watching; the report counts the elements (build)
        yield Source(f"{spec}/{i}", f"{spec}/{i}", ex["image"])


def shard_count(n: int, fraction: float) -> int:
    return max(1, math.ceil(n * fraction / RECORDS_PER_SHARD)) if n else 0


def inception_chunk(embeds: bool, batch_size: int) -> int:
    """Photos that travel together to one worker, so at most this many meet in one Inception batch.

    TensorFlow runs a batch of any length as it is, and Inception on a CPU gains little from batches:
    photo by photo (chunks of one) keeps every worker busy to the end. On JAX every batch shape compiles,
    and on a GPU every batch is padded to the batch size (model.inference.Compiled), so photos arriving
    one by one would each cost a whole batch of Inception (on a GPU preprocess ran at a fraction of the
    CPU side's rate): there chunks of up to a batch, taken by Inception as whole batches. Without
    Inception nothing is batched."""
    return batch_size if embeds and compiles_each_shape() else 1


def build(p: beam.Pipeline, options: PreprocessOptions, tree: outputs.OutputTree, files: list,
          spec: c.EmbeddingSpec | None, refused: list = (), progress_folder: str | None = None) -> None:
    """Adds the preprocess graph to pipeline `p`, writing into `tree`; `spec` names the embedding (None: none)."""
    tfds_specs = options.tfds_specs
    elements = [Source(wire(f.path), wire(f.relpath), None) for f in files]
    chunk = inception_chunk(spec is not None, options.batch_size)
    inputs = p | "CreateInputs" >> beam.Create(elements) | "Spread" >> Spread(chunk_size(len(elements), chunk))
    if tfds_specs:
        from_tfds = (p | "CreateTfdsSources" >> beam.Create(tfds_specs)
                     | "ReadTfds" >> beam.FlatMap(read_tfds, data_dir=options.tfds_data_dir)
                     | "SpreadTfds" >> Spread(chunk))
        inputs = (inputs, from_tfds) | "AllInputs" >> beam.Flatten()
    prepared = (inputs
                | "DecodeAndPrepare" >> beam.ParDo(PrepareTrainingExample(
                    options.image_size, options.max_pixels, options.max_file_mb << 20, spec is not None, progress_folder))
                .with_outputs("skipped", "failed", TALLY, main="ok"))
    examples = prepared.ok
    if spec is not None:
        examples = examples | "EmbedInception" >> EmbedInception(options.inception_weights, spec.weights_sha256,
                                                                 options.batch_size, options.share_model)
    encoded = examples | "EncodeRecords" >> beam.ParDo(EncodeRecords(options.image_size, options.val_fraction,
                                                                      progress_folder)).with_outputs(TALLY, main="ok")
    outcomes = [prepared[TALLY], encoded[TALLY]]
    encoded = encoded.ok
    train, val = encoded | "SplitTrainVal" >> beam.Partition(lambda kv, _: 0 if kv[0] == "train" else 1, 2)
    n = len(files) or 4 * RECORDS_PER_SHARD
    for name, pcoll, fraction in (("train", train, 1 - options.val_fraction), ("val", val, options.val_fraction)):
        (pcoll | f"Values{name.title()}" >> beam.Values()
         | f"Write{name.title()}" >> beam.io.WriteToTFRecord(
             tree.path(name), file_name_suffix=c.RECORD_SUFFIX,
             num_shards=shard_count(n, fraction) or 1, shard_name_template="-SSSSS-of-NNNNN",
             compression_type=beam.io.filesystem.CompressionTypes.GZIP))
    failed = (prepared.failed,) | "Failures" >> WriteFailures(tree.path("failures"), refused)
    if tfds_specs:
        outcomes.append(from_tfds | "MatchedOutcomes" >> beam.Map(lambda _: "matched"))
    (*outcomes, failed) | "CountOutcomes" >> CountOutcomes(tree.path(COUNTS_FILE))


def run(options: PreprocessOptions, test_pipeline: beam.Pipeline | None = None) -> dict:
    """Runs the job; returns the dataset.json dict. Raises sources.InputError / WeightsError."""
    start = time.time()
    outputs.check_folder(options.output)
    tfds_specs = options.tfds_specs
    files, refused, folders_skipped = [], [], []
    for s in options.inputs:
        if s in tfds_specs:
            continue
        if not is_remote(s) and sources.real(sources.root_of(s)) == sources.real(options.output):
            raise outputs.OutputError(f"--output {options.output} is the input folder {s}: records and photos would "
                                      "mix; choose another folder")
        listing = sources.list_inputs(s, exclude=options.output)
        files += listing.files
        refused += listing.refused
        folders_skipped += listing.folders_skipped
    for folder, why in folders_skipped:
        log.warning("not entered: %s: %s", folder, why)
    if not files and not tfds_specs:
        raise sources.InputError(f"no files found in {', '.join(options.inputs)}: nothing to preprocess")
    spec = None
    if options.embedding != "none":
        from model.inception import build_inception
        log.info("building Inception-ResNet-v2 (%s weights) to identify its embedding", options.inception_weights)
        spec = build_inception(options.inception_weights)[1]
    log.info("preprocessing %d files%s into %s", len(files),
             f" and {len(tfds_specs)} tfds source(s)" if tfds_specs else "", options.output)

    def report(counts: dict, tree: outputs.OutputTree) -> dict:
        counts["failed"] = counts.get("failed", 0) + len(refused)
        info = dataset_info(options, spec, counts, len(files) + len(refused), time.time() - start)
        info["counts"]["folders_not_entered"] = [{"path": f, "why": why} for f, why in folders_skipped]
        write_json(tree, c.DATASET_JSON, info)
        return {**info, "output": options.output, "failures": tree.path(c.FAILURES_JSONL)}

    job = Launch("preprocess", options.output, LOG, ("train", "val", "failures"),
                 len(files) if not tfds_specs else None, options.beam_args, options.verbose)
    return launch(job, lambda p, tree, progress_folder: build(p, options, tree, files, spec, refused, progress_folder),
                  report, test_pipeline)


def dataset_info(options: PreprocessOptions, spec: c.EmbeddingSpec | None, counts: dict, n_files: int,
                 seconds: float) -> dict:
    written = {s: counts.get(f"written_{s}", 0) for s in c.SPLITS}
    matched = n_files + counts.get("matched", 0)
    return {
        "schema_version": c.SCHEMA_VERSION,
        "image_size": options.image_size,
        "lab_scaling": {"l": f"L / {c.L_SCALE} - 1", "ab": f"ab / {c.AB_DIVISOR}",
                        "l_record": "uint8 round(L * 255 / 100)", "ab_record": f"int8 round(ab / {c.AB_DIVISOR} * 127)"},
        "crop": f"{view.TRAINING_VIEW}: short side resized to image_size (Lanczos)",
        "embedding": spec.to_dict() if spec else None,
        "inputs": [str(s) for s in options.inputs],
        "val_fraction": options.val_fraction,
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
