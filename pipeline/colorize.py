"""`colorize run`: a colour copy of every photo of an archive, at full resolution, in a mirrored tree.

Graph: ListInputs -> Spread -> ReadPhotos (skip done / expand archives) -> PrepareModelInput
-> [EmbedInception] -> Colorize (RunInference) -> WritePhotos (own full-resolution L + upsampled ab,
atomic rename). Counters give _report.json; failures go to _failures.jsonl. A rerun skips photos
whose output exists, so a stopped job resumes by running the same command again.
"""
import argparse
import io
import os
import posixpath
import tarfile
import time
import uuid
import zipfile

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference
from PIL import Image

from model import inference, modeldir
from pipeline import images, sources
from pipeline.beam_support import (Progress, SpreadInChunks, chunks, counter, failure_line, log, make_pipeline,
                                   read_counters, write_json)
from tfrecords import contract as c

REPORT, FAILURES = "_report.json", "_failures.jsonl"
TMP_MARK = ".colorize-tmp-"
JPEG_QUALITY = 95
# Pillow format -> (save format, output extension or None to keep the input's, save options)
WRITERS = {
    "JPEG": ("JPEG", None, {"quality": JPEG_QUALITY, "subsampling": 0}),
    "PNG": ("PNG", None, {"optimize": False}),
    "TIFF": ("TIFF", None, {"compression": "tiff_lzw"}),
    "BMP": ("BMP", None, {}),
    "WEBP": ("WEBP", None, {"lossless": True}),
    "GIF": ("PNG", ".png", {}),  # GIF holds 256 colours: colour copies of GIFs are PNG
    "MPO": ("JPEG", None, {"quality": JPEG_QUALITY, "subsampling": 0}),
}


def output_relpath(relpath):
    """Where a photo's colour copy goes, relative to --output."""
    if relpath.lower().endswith(".gif"):
        return relpath[:-4] + ".png"
    return relpath


def join_output(output, relpath):
    path = posixpath.join(output.rstrip("/"), relpath) if sources.is_remote(output) else \
        os.path.join(output, *relpath.split("/"))
    if not sources.is_remote(output):
        root = os.path.abspath(output)
        if not os.path.abspath(path).startswith(root.rstrip(os.sep) + os.sep):
            raise images.ImageError(f"refused: {relpath} would be written outside the output folder")
    return path


class ReadPhotos(beam.DoFn):
    """(path, relpath) -> (relpath, bytes); an archive expands to its members. Skips photos already done."""

    def __init__(self, output, overwrite):
        self.output, self.overwrite = output, overwrite

    def _emit(self, relpath, read):
        if not images.is_image_name(relpath):
            counter("skipped_not_image").inc()
            return
        if not self.overwrite and FileSystems.exists(join_output(self.output, output_relpath(relpath))):
            counter("skipped_done").inc()
            return
        yield relpath, read()

    def process(self, element):
        path, relpath, archive = element
        try:
            if archive:
                yield from self._expand(path)
            else:
                yield from self._emit(relpath, lambda: sources.read_bytes(path))
        except (images.ImageError, OSError, tarfile.TarError, zipfile.BadZipFile) as e:
            counter("failed").inc()
            yield beam.pvalue.TaggedOutput("failed", (relpath, str(e)))

    def _expand(self, path):
        """Streams an archive's members; only one member's bytes are in memory at a time."""
        with FileSystems.open(path, mime_type="application/octet-stream", compression_type="uncompressed") as f:
            members = _zip_members(f) if path.lower().endswith(".zip") else _tar_members(f)
            for name, read in members:
                counter("matched").inc()
                safe = sources.safe_member_path(name)
                if safe is None or read is None:
                    counter("failed").inc()
                    why = "outside the output folder" if safe is None else "not a regular file (link or device)"
                    yield beam.pvalue.TaggedOutput("failed", (f"{path}!{name}", f"refused archive member: {why}"))
                    continue
                yield from self._emit(safe, read)


def _zip_members(f):
    z = zipfile.ZipFile(f)
    for info in z.infolist():
        if not info.is_dir():
            yield info.filename, (lambda info=info: z.read(info))


def _tar_members(f):
    with tarfile.open(fileobj=f, mode="r|*") as t:  # streaming: members are read in order, once
        for m in t:
            if m.isdir():
                continue
            yield m.name, ((lambda m=m: t.extractfile(m).read()) if m.isfile() else None)


class PrepareModelInput(beam.DoFn):
    """(relpath, bytes) -> key (relpath, bytes), example: L at the model's size [+ grey 299 for Inception]."""

    def __init__(self, size, max_pixels, with_grey):
        self.size, self.max_pixels, self.with_grey = size, max_pixels, with_grey

    def process(self, element):
        relpath, data = element
        try:
            # JPEGs decode at reduced scale here: only the model-size L is needed now.
            rgb = images.decode_rgb(data, self.max_pixels, draft_size=max(self.size, c.INCEPTION_SIZE))
            l_small = inference.model_input(inference.l_of(rgb), self.size)
            grey = images.inception_input(rgb) if self.with_grey else None
        except (images.ImageError, OSError, ValueError) as e:
            counter("failed").inc()
            yield beam.pvalue.TaggedOutput("failed", (relpath, str(e)))
            return
        yield ((relpath, data), (l_small, grey)) if self.with_grey else ((relpath, data), l_small)


class ColorizationModelHandler(ModelHandler):
    """RunInference handler: loads a model directory once per worker; batches of L (and embeddings).

    model_dir None means the model shipped with the package, found where the worker installed it.
    """

    def __init__(self, model_dir, batch_size=16):
        self._model_dir, self._batch_size = model_dir, batch_size

    def load_model(self):
        model, _ = modeldir.load(self._model_dir)
        import keras
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf
            return tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        return lambda x: model(x, training=False)

    def run_inference(self, batch, model, inference_args=None):
        if isinstance(batch[0], tuple):
            x = {"l": np.stack([b[0] for b in batch]), "embedding": np.stack([b[1] for b in batch])}
        else:
            x = np.stack(batch)
        ab = c.unscale_ab(np.asarray(model(x)))
        return [PredictionResult(None, a) for a in ab]

    def batch_elements_kwargs(self):
        # Fixed batches: a bundle's last batch is flushed smaller anyway.
        return {"min_batch_size": self._batch_size, "max_batch_size": self._batch_size}


class WritePhotos(beam.DoFn):
    """(relpath, bytes), ab -> the colour photo at full resolution, written atomically."""

    def __init__(self, output, max_pixels, total):
        self.output, self.max_pixels, self.total = output, max_pixels, total

    def setup(self):
        self.progress = Progress("photos colorized", self.total)

    def process(self, element):
        (relpath, data), result = element
        try:
            opened = images.open_image(data, self.max_pixels)
            fmt = opened.format  # exif_transpose returns a new image without it
            im = images.to_upright(opened)
            pixels = np.asarray(im) if im.mode == "L" else np.asarray(images.to_rgb(im))
            colour = inference.merge(inference.l_of(pixels), result.inference)
            # An ICC profile describes the input's pixels: keep it only where those were RGB too.
            icc = im.info.get("icc_profile") if im.mode in ("RGB", "RGBA", "P") else None
            write_atomic(join_output(self.output, output_relpath(relpath)), colour, fmt, icc, im.getexif())
        except (images.ImageError, OSError, ValueError) as e:
            counter("failed").inc()
            yield beam.pvalue.TaggedOutput("failed", (relpath, str(e)))
            return
        counter("colorized").inc()
        self.progress.tick()


def encode(colour, fmt, icc, exif):
    save_fmt, _, options = WRITERS.get(fmt, ("PNG", None, {}))
    extra = dict(options)
    if icc and save_fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        extra["icc_profile"] = icc
    if exif is not None and len(exif) and save_fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        extra["exif"] = exif.tobytes()
    buf = io.BytesIO()
    Image.fromarray(colour).save(buf, save_fmt, **extra)
    return buf.getvalue()


def write_atomic(path, colour, fmt, icc, exif):
    """Writes under a temporary name, then renames: a killed run never leaves a partial photo."""
    data = encode(colour, fmt, icc, exif)
    if sources.is_remote(path):  # object stores publish an object whole, on close
        with FileSystems.create(path) as f:
            f.write(data)
        return
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{name}{TMP_MARK}{uuid.uuid4().hex[:8]}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def remove_partial_files(output):
    """Temporary files a killed run left behind."""
    if sources.is_remote(output) or not os.path.isdir(output):
        return 0
    removed = 0
    for dirpath, _, filenames in os.walk(output):
        for name in filenames:
            if TMP_MARK in name:
                os.remove(os.path.join(dirpath, name))
                removed += 1
    return removed


def build(p, args, card, files, archives, total):
    """Adds the colorize graph to pipeline `p`."""
    size, fusion = card["image_size"], card["architecture"] == "fusion"
    elements = [(f.path, f.relpath, False) for f in files] + [(a, posixpath.basename(a), True) for a in archives]
    read = (p | "ListInputs" >> beam.Create(chunks(elements, args.batch_size)) | "Spread" >> beam.Reshuffle()
            | "Unchunk" >> beam.FlatMap(lambda chunk: chunk)
            | "ReadPhotos" >> beam.ParDo(ReadPhotos(args.output, args.overwrite)).with_outputs("failed", main="ok"))
    photos = read.ok
    if archives:  # members come out of one archive element: spread them before the heavy work
        photos = photos | "SpreadMembers" >> SpreadInChunks(args.batch_size)
    prepared = photos | "PrepareModelInput" >> beam.ParDo(
        PrepareModelInput(size, args.max_pixels, fusion)).with_outputs("failed", main="ok")
    examples = prepared.ok
    if fusion:
        from pipeline.embedding import InceptionEmbeddingHandler
        spec = modeldir.embedding_of(card)
        embedded = (examples
                    | "ToInception" >> beam.MapTuple(lambda key, ex: ((key, ex[0]), ex[1]))
                    | "EmbedInception" >> RunInference(KeyedModelHandler(
                        InceptionEmbeddingHandler(spec.weights, spec.weights_sha256, args.batch_size))))
        examples = embedded | "JoinEmbedding" >> beam.MapTuple(lambda k, r: (k[0], (k[1], r.inference)))
    coloured = examples | "Colorize" >> RunInference(KeyedModelHandler(
        ColorizationModelHandler(args.model, args.batch_size)))
    written = coloured | "WritePhotos" >> beam.ParDo(
        WritePhotos(args.output, args.max_pixels, total)).with_outputs("failed", main="ok")
    ((read.failed, prepared.failed, written.failed) | "AllFailures" >> beam.Flatten()
     | "FailureLines" >> beam.MapTuple(failure_line)
     | "WriteFailures" >> beam.io.WriteToText(join_output(args.output, "_failures"), file_name_suffix=".jsonl",
                                               shard_name_template=""))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="colorize run", description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True, help="folder (recursive), glob, gs:// path, or .zip / .tar(.gz) archive")
    p.add_argument("--output", required=True, help="folder for the colour copies (mirrors the input tree)")
    p.add_argument("--model", default=None, help="model directory, local or gs:// (default: the shipped model)")
    p.add_argument("--overwrite", action="store_true", help="redo photos whose colour copy exists")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-pixels", type=int, default=c.DEFAULT_MAX_PIXELS,
                   help="refuse images with more pixels (decompression bombs)")
    return p.parse_known_args(argv)


def run(argv=None, test_pipeline=None):
    """Runs the job; returns the report dict."""
    args, beam_args = parse_args(argv)
    start = time.time()
    card = modeldir.read_card(args.model or modeldir.DEFAULT_MODEL_DIR)
    if sources.is_archive(args.input) and not sources.is_glob(args.input):
        if not (sources.is_remote(args.input) or os.path.isfile(args.input)):
            raise sources.InputError(f"input {args.input} does not exist")
        files, archives = [], [args.input]
    else:
        files, archives = sources.list_files(args.input, exclude=args.output), []
    if not files and not archives:
        raise sources.InputError(f"no files found in {args.input}: nothing to colorize")
    removed = remove_partial_files(args.output)
    if removed:
        log.info("removed %d partial file(s) left by an interrupted run", removed)
    log.info("colorizing %s into %s with the %s model %s", f"{len(files)} files" if files else args.input,
             args.output, card["architecture"], args.model or "(shipped default)")
    p = test_pipeline or make_pipeline(beam_args)
    build(p, args, card, files, archives, len(files) or None)
    result = p.run()
    result.wait_until_finish()
    counts = read_counters(result)
    report = {
        "input": args.input, "output": args.output,
        "model": {"dir": args.model or modeldir.DEFAULT_MODEL_DIR, "architecture": card["architecture"],
                  "image_size": card["image_size"]},
        "counts": {"matched": len(files) + counts.get("matched", 0),
                   "colorized": counts.get("colorized", 0),
                   "skipped_done": counts.get("skipped_done", 0),
                   "skipped_not_image": counts.get("skipped_not_image", 0),
                   "failed": counts.get("failed", 0)},
        "seconds": round(time.time() - start, 1),
        "failures": join_output(args.output, FAILURES),
    }
    write_json(join_output(args.output, REPORT), report)
    return report


def main(argv=None):
    import sys
    report = run(argv)
    n = report["counts"]
    print(f"matched {n['matched']}: colorized {n['colorized']}, already done {n['skipped_done']}, "
          f"not images {n['skipped_not_image']}, failed {n['failed']} ({report['seconds']} s) -> {report['output']}")
    if n["failed"]:
        print(f"{n['failed']} input(s) failed: see {report['failures']}", file=sys.stderr)
        return 1
    return 0
