"""`colorize run`: a colour copy of every photo of an archive, at full resolution, in a mirrored tree.

Graph: ListInputs -> Spread -> ReadPhotos (skip done / expand archives) -> [SpreadMembers]
-> PrepareModelInput (one element per frame or page) -> [EmbedInception] -> Colorize (RunInference)
-> WritePhotos (own full-resolution L + upsampled ab, atomic rename); photos of several frames or
pages -> GroupFrames -> WriteMultiFrame. Failures (with those the launcher found: links to folders,
inputs whose copies would share a name) go to _failures.jsonl. Every step's outcomes (skipped,
colorized, failed) -> CountOutcomes -> _counts.json, which the launcher turns into _report.json: the
pipeline counts, so the report is exact on any runner (metrics are only for watching).
A rerun skips photos already done (pipeline/ledger.py: their copy's record in _done/ names these bytes and these
settings), so a stopped job resumes by running the same command again; each run's record files are kept in _runs/.

What the launcher guarantees before any worker starts: the model loads, the numbers make sense, the
output folder is not the input, does not hold it, and no other run writes into it (a lock).
"""
import itertools
import os
import posixpath
import time
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult, RunInference

from basics import encoding, photos, remote, view
from basics.errors import reason_of
from basics.lab import lightness, rgb_to_lab
from basics.paths import is_remote, readable, unwire, wire
from model import inference, modeldir
from pipeline import archives, gallery, ledger, outputs, progress, sources
from pipeline.beam_support import (COUNTS_FILE, LOCAL_WORKER_FLAGS, PHOTO_ERRORS, TALLY, CountOutcomes, Spread,
                                   WriteFailures, chunk_size, failure, failure_line, is_local, log, tally, write_json)
from pipeline.embedding import EmbedInception
from pipeline.launcher import Launch, launch
from pipeline.options import RunOptions
from pipeline.outputs import TMP_MARK  # noqa: F401  (tests look for leftovers by it)
from tfrecords import contract as c

REPORT, FAILURES, SKIPPED, LOG = "_report.json", "_failures.jsonl", "_skipped.jsonl", "_log.txt"
SKIP_REASONS = {"skipped_not_image": "not an image: its name ends in none of " + " ".join(photos.IMAGE_EXTENSIONS),
                "skipped_done": "already done: its colour copy was made from this input with this model and "
                                "vividness (--overwrite redoes it)"}


# What flows between the DoFns. Paths travel as bytes (basics.paths.wire): names that are not UTF-8 keep
# their exact bytes; `origin` is the readable name reports give (RELPATH, or ARCHIVE!MEMBER).
class Input(NamedTuple):
    """A listed input: a photo, or an archive to expand."""
    path: bytes
    relpath: bytes
    archive: bool


class Photo(NamedTuple):
    """A photo's encoded bytes, read within the limits, and the input's modification time (None: it has none)."""
    relpath: bytes
    origin: str
    data: bytes
    mtime_ns: int | None


class FrameKey(NamedTuple):
    """The key of one frame (of an animation) or page (of a TIFF) on its way through the model; only frame 0
    carries the photo's bytes, so a many-page file is not copied once per page."""
    relpath: bytes
    origin: str
    data: bytes | None
    frame: int
    frames: int
    mtime_ns: int | None


class ColouredFrame(NamedTuple):
    """One frame's predicted ab, gathered with the photo's other frames (GroupFrames) into one file."""
    frame: int
    origin: str
    data: bytes | None
    ab: np.ndarray
    mtime_ns: int | None


def output_relpath(relpath: str) -> str:
    """Where a photo's colour copy goes, relative to --output."""
    if relpath.lower().endswith(".gif"):
        return relpath[:-4] + ".png"
    return relpath


class ReadPhotos(progress.Counting, beam.DoFn):
    """Input -> Photo; an archive expands to its members. Skips photos already done; refuses what could not
    be read within the limits."""

    def __init__(self, output, overwrite, max_bytes, max_pixels, made_with, progress_folder=None):
        self.output, self.overwrite, self.max_bytes, self.max_pixels = output, overwrite, max_bytes, max_pixels
        self.made_with, self.progress_folder = made_with, progress_folder

    def setup(self) -> None:
        self.tree = outputs.OutputTree(self.output)
        self.check_head = photos.head_checker(self.max_pixels)
        super().setup()

    def process(self, element: Input) -> Iterator[Any]:
        path, relpath = unwire(element.path), unwire(element.relpath)
        origin = readable(relpath)
        try:
            if element.archive:
                yield from self._expand(path)
                return
            # A local file's time vouches for its content; a remote object is compared by its bytes
            st = None if is_remote(path) else os.stat(path)
            mtime = st.st_mtime_ns if st else None
            if (skip := self._skip(relpath, lambda: st.st_size if st else remote.size(path), mtime,
                                   lambda: sources.read_file(path, self.max_bytes, None))) is not None:
                self._tick(skip)
                yield tally(skip)
                yield beam.pvalue.TaggedOutput("skipped", (origin, SKIP_REASONS[skip]))
            else:
                yield Photo(element.relpath, origin, sources.read_file(path, self.max_bytes, self.check_head), mtime)
        except PHOTO_ERRORS as e:
            self.ticker.tick()
            yield failure(origin, e)

    def _tick(self, skip):
        """The progress bar counts photos: a file that is not one was never in its total (run's `total`)."""
        if skip != "skipped_not_image":
            self.ticker.tick()

    def _skip(self, relpath, size, mtime_ns, content):
        """Why an input is skipped, or None to colorize it (ledger.decide: size() its bytes' count, mtime_ns its
        time or None, content() its bytes). A file in the way that this tool did not write from this input is an
        ImageError (a listed failure): never taken as done, never replaced without --overwrite."""
        if not photos.is_image_name(relpath):
            return "skipped_not_image"
        out = output_relpath(relpath)
        if self.overwrite or not self.tree.exists(out):
            return None
        return ledger.decide(self.tree.read(ledger.ledger_of(out)), out, self.made_with, size(), mtime_ns, content)

    def _expand(self, path):
        """Reads an archive's members one at a time; one member's bytes at most are in memory."""
        taken = {}  # output relpath -> the member that got it first
        with remote.open_read(path) as f:
            for m in archives.members(f, path):
                yield tally("matched")
                origin = f"{readable(path)}!{readable(m.name)}"
                relpath = sources.safe_member_path(m.name)
                try:
                    if relpath is None:
                        raise photos.ImageError("refused archive member: outside the output folder")
                    if m.refused:
                        raise photos.ImageError(f"refused archive member: {m.refused}")
                    out = output_relpath(relpath)
                    if out in taken:
                        raise photos.ImageError(f"its colour copy would be {readable(out)}, the same as that "
                                                f"of member {readable(taken[out])}: rename one of them")
                    taken[out] = m.name
                    data = []  # a member is read once, whether to compare it with its record or to colorize it

                    def content(m=m, data=data):
                        if not data:
                            with m.open() as stream:
                                data.append(sources.read_bounded(stream, m.size, self.max_bytes, self.check_head))
                        return data[0]
                    # a member's own time is not trusted to vouch for it (archivers set it freely): its bytes do
                    if (skip := self._skip(relpath, lambda m=m: m.size, None, content)) is not None:
                        self._tick(skip)
                        yield tally(skip)
                        yield beam.pvalue.TaggedOutput("skipped", (origin, SKIP_REASONS[skip]))
                        continue
                    yield Photo(wire(relpath), origin, content(), None)
                except PHOTO_ERRORS as e:
                    self.ticker.tick()
                    yield failure(origin, e)


class PrepareModelInput(progress.Counting, beam.DoFn):
    """Photo -> (FrameKey, example): L at the model's size [+ grey 299 for Inception], one element per frame of
    an animation / page of a TIFF."""

    def __init__(self, size, max_pixels, with_grey, progress_folder=None):
        self.size, self.max_pixels, self.with_grey = size, max_pixels, with_grey
        self.progress_folder = progress_folder

    def process(self, element: Photo) -> Iterator[Any]:
        relpath, origin, data, mtime = element
        try:
            prepared = []
            # JPEGs decode at reduced scale here: only the model-size L is needed now.
            for i, n, im in photos.frames(data, self.max_pixels, draft_size=max(self.size, c.INCEPTION_SIZE)):
                pixels = photos.eight_bit(photos.master(im).pixels)  # the L its colour copy keeps, as 8 bits
                if i == 0 and pixels.ndim == 3 and view.has_colour(rgb_to_lab(view.square(pixels, self.size,
                                                                                          view.INFERENCE_VIEW))):
                    prepared.append(tally("had_colour"))  # a tinted (sepia) print scanned in colour
                l_small = view.model_input(pixels, self.size)
                example = (l_small, view.inception_input(pixels)) if self.with_grey else l_small
                prepared.append((FrameKey(relpath, origin, data if i == 0 else None, i, n, mtime), example))
        except PHOTO_ERRORS as e:
            self.ticker.tick()
            yield failure(origin, e)
            return
        yield from prepared


class ColorizationModelHandler(ModelHandler):
    """RunInference handler: loads a model directory once per worker; batches of L (and embeddings).

    model_dir None means the model shipped with the package, found where the worker installed it.
    share: one model for every worker process of a machine, served to the others by the first.
    """

    def __init__(self, model_dir, batch_size=16, vividness=1.0, share=False):
        # Fixed batches: a bundle's last batch is flushed smaller anyway.
        super().__init__(min_batch_size=batch_size, max_batch_size=batch_size)
        self._model_dir, self._vividness, self._batch_size = model_dir, vividness, batch_size
        self._share = share

    def load_model(self) -> inference.Compiled:
        start = time.time()
        model, _ = modeldir.load(self._model_dir)
        log.info("model loaded in %.1f s by process %d%s", time.time() - start, os.getpid(),
                 ", shared with this machine's other workers" if self._share else "")
        return inference.Compiled(model, self._batch_size)

    def share_model_across_processes(self) -> bool:
        return self._share

    def run_inference(self, batch: Sequence, model: inference.Compiled,
                      inference_args: dict | None = None) -> list[PredictionResult]:
        if isinstance(batch[0], tuple):
            x = {"l": np.stack([b[0] for b in batch]), "embedding": np.stack([b[1] for b in batch])}
        else:
            x = np.stack(batch)
        ab = inference.vivid(c.unscale_ab(np.asarray(model(x))), self._vividness)
        return [PredictionResult(None, a) for a in ab]

    def get_metrics_namespace(self) -> str:
        return "colorize-model"


def colour_frames(data: bytes, abs_small: list, max_pixels: int) -> tuple[encoding.Style, Iterator]:
    """Photo bytes and one small ab per frame -> (the copy's Style, its frames: (encoding.Frame, the frame's
    8-bit pixels for the gallery)), lazily: one full-resolution frame in memory at a time."""
    opened = photos.open_image(data, max_pixels)
    styled = []

    def frames() -> Iterator[tuple[encoding.Frame, np.ndarray]]:
        for (_, _, im), ab in zip(photos.frames(data, max_pixels), abs_small, strict=True):
            m = photos.master(im)
            if not styled:  # the first frame's depth decides the copy's (exif_transpose drops .format)
                styled.append(encoding.style_of(opened, data, m.bits))
            bits = styled[0].bits if m.bits == 16 else 8
            colour = inference.merge(lightness(m.pixels), ab, bits)
            yield encoding.Frame(colour, m.alpha, encoding.exif_of(im, opened), im.info.get("duration")), m.pixels
    stream = frames()
    first = next(stream)  # decodes frame 0, so the style is known before the encoder is chosen
    return styled[0], itertools.chain([first], stream)


def keeping_first(frames: Iterator, kept: list) -> Iterator[encoding.Frame]:
    """Passes the encoding.Frames through, keeping the first (Frame, pixels) in `kept` for the gallery."""
    for i, (frame, pixels) in enumerate(frames):
        if i == 0:
            kept.append((frame, pixels))
        yield frame


class WritePhotos(progress.Counting, beam.DoFn):
    """(FrameKey of a one-frame photo, its PredictionResult) -> the colour photo at full resolution, written
    atomically, and its two gallery thumbnails, made from the pixels already in hand."""

    def __init__(self, output, max_pixels, made_with, progress_folder=None):
        self.output, self.max_pixels, self.made_with, self.progress_folder = output, max_pixels, made_with, progress_folder

    def setup(self) -> None:
        super().setup()
        self.tree = outputs.OutputTree(self.output)

    def process(self, element: tuple) -> Iterator[Any]:
        key, result = element
        yield from self.write(key.relpath, key.origin, key.data, key.mtime_ns, [result.inference])

    def write(self, relpath: str, origin: str, data: bytes, mtime_ns: int | None, abs_small: list) -> Iterator[Any]:
        out = output_relpath(unwire(relpath))
        first = []  # the first frame's (colour, pixels), kept for the gallery's thumbnails
        try:
            style, frames = colour_frames(data, abs_small, self.max_pixels)
            record = ledger.ledger_of(out)
            # Before the copy, a record that it is being written: a run killed between the copy's rename and its
            # final record leaves a copy the next run knows for its own and redoes, never one it takes for a file
            # of the user's. After it, the final record; one that cannot be written (a full disk) takes the copy
            # with it, or the next run would find a copy it cannot vouch for.
            self.tree.write(record, ledger.record(origin, data, mtime_ns, self.made_with, ledger.WRITING))
            self.tree.write(out, encoding.encode(style, keeping_first(frames, first)))
            try:
                self.tree.write(record, ledger.record(origin, data, mtime_ns, self.made_with))
            except BaseException:
                self.tree.remove(out)
                raise
        except PHOTO_ERRORS as e:
            self.ticker.tick()
            yield failure(origin, e)
            return
        yield tally("colorized")
        self.ticker.tick()
        frame, pixels = first[0]
        try:
            gallery.write_thumbnails(self.tree, out, pixels, frame.colour)
        except PHOTO_ERRORS as e:  # the photo is whole; the gallery shows it without thumbnails
            yield tally("thumbnails_failed")
            log.warning("no thumbnails for %s: %s", origin, reason_of(e))


class WriteMultiFrame(WritePhotos):
    """(relpath, [ColouredFrame]) -> one colour file holding every frame / page."""

    def process(self, element: tuple) -> Iterator[Any]:
        relpath, parts = element
        parts = sorted(parts, key=lambda p: p.frame)
        yield from self.write(relpath, parts[0].origin, parts[0].data, parts[0].mtime_ns, [p.ab for p in parts])


def build(p: beam.Pipeline, options: RunOptions, card: dict, tree: outputs.OutputTree, files: list,
          archives_: list[str], prefailed: list, progress_folder: str | None = None,
          folders_skipped: list | None = None) -> None:
    """Adds the colorize graph to pipeline `p`, writing into `tree`, with the model `card` describes;
    folders_skipped: (path, why) of the folders the listing did not enter, listed with the skipped files."""
    size, fusion = card["image_size"], card["architecture"] == "fusion"
    made_with = ledger.settings(card, options.vividness)
    elements = [Input(wire(f.path), wire(f.relpath), False) for f in files] + \
               [Input(wire(a), wire(posixpath.basename(a)), True) for a in archives_]
    read = (p | "ListInputs" >> beam.Create(elements)
            | "Spread" >> Spread(chunk_size(len(elements), options.batch_size))
            | "ReadPhotos" >> beam.ParDo(ReadPhotos(tree.root, options.overwrite, options.max_file_mb << 20,
                                                    options.max_pixels, made_with, progress_folder))
            .with_outputs("failed", TALLY, "skipped", main="ok"))
    _ = ((read.skipped, p | "FoldersSkipped" >> beam.Create(folders_skipped or []))
         | "AllSkipped" >> beam.Flatten()
         | "SkippedLines" >> beam.MapTuple(failure_line)
         | "ListSkipped" >> beam.io.WriteToText(tree.path("_skipped"), file_name_suffix=".jsonl", shard_name_template=""))
    photos_ = read.ok
    if archives_:  # members come out of one archive element: spread them before the heavy work
        photos_ = photos_ | "SpreadMembers" >> Spread(options.batch_size)
    prepared = photos_ | "PrepareModelInput" >> beam.ParDo(
        PrepareModelInput(size, options.max_pixels, fusion, progress_folder)).with_outputs("failed", TALLY, main="ok")
    examples = prepared.ok
    if fusion:
        spec = modeldir.embedding_of(card)
        examples = (examples
                    | "ToInception" >> beam.MapTuple(lambda key, ex: ((key, ex[0]), ex[1]))
                    | "EmbedInception" >> EmbedInception(spec.weights, spec.weights_sha256, options.batch_size,
                                                         options.share_model)
                    | "JoinEmbedding" >> beam.MapTuple(lambda k, embedding: (k[0], (k[1], embedding))))
    coloured = examples | "Colorize" >> RunInference(KeyedModelHandler(
        ColorizationModelHandler(options.model, options.batch_size, options.vividness, options.share_model)))
    single, multi = coloured | "ByFrameCount" >> beam.Partition(lambda kv, _: 0 if kv[0].frames == 1 else 1, 2)
    written = single | "WritePhotos" >> beam.ParDo(
        WritePhotos(tree.root, options.max_pixels, made_with, progress_folder)).with_outputs("failed", TALLY, main="ok")
    written_multi = (multi
                     | "KeyByPhoto" >> beam.Map(lambda kv: (kv[0].relpath, ColouredFrame(
                         kv[0].frame, kv[0].origin, kv[0].data, kv[1].inference.astype(np.float16), kv[0].mtime_ns)))
                     | "GroupFrames" >> beam.GroupByKey()
                     | "WriteMultiFrame" >> beam.ParDo(
                         WriteMultiFrame(tree.root, options.max_pixels, made_with, progress_folder))
                     .with_outputs("failed", TALLY, main="ok"))
    failed = ((read.failed, prepared.failed, written.failed, written_multi.failed)
              | "Failures" >> WriteFailures(tree.path("_failures"), prefailed))
    ((read[TALLY], prepared[TALLY], written[TALLY], written_multi[TALLY], failed)
     | "CountOutcomes" >> CountOutcomes(tree.path(COUNTS_FILE)))


def check_paths(input_: str, output: str, allow_foreign: bool = False) -> tuple[list, list[str], list, list]:
    """Refuses an output folder that is the input or holds it, compared by real paths, and one of the user's own
    files unless `allow_foreign`; returns (files, archives, failures found while listing, folders not entered)."""
    outputs.check_folder(output)
    pattern = sources.is_pattern(input_)
    archive = sources.is_archive(input_) and not pattern
    if not pattern and not sources.exists(input_):
        raise sources.InputError(f"input {readable(input_)} does not exist")
    real_in, real_out = sources.real(sources.root_of(input_) if not archive else input_), sources.real(output)
    if real_out == real_in:
        raise outputs.OutputError(f"--output {output} is the input folder ({real_in}): colour copies would "
                                  "replace the originals; choose another folder")
    if sources.within(real_in, real_out):
        raise outputs.OutputError(f"the input {input_} lies inside --output {output}: colour copies "
                                  "could land on the originals; choose an output folder outside the input")
    if not allow_foreign and ledger.holds_foreign_files(output):
        raise outputs.OutputError(f"--output {output} holds files that colorize run did not write (a folder of your "
                                  "own?): choose a new or empty folder, or pass --allow-foreign to write beside them "
                                  "(they are never taken as done, nor replaced without --overwrite)")
    if archive:
        return [], [input_], [], []
    listing = sources.list_inputs(input_, exclude=output)
    return listing.files, [], listing.refused, listing.folders_skipped


def resolve_collisions(files: list) -> tuple[list, list]:
    """Inputs whose colour copies would share a name (x.gif beside x.png): one is kept, the others
    are failures. An input whose copy keeps its own name wins, else the first by path."""
    by_output = {}
    for f in files:
        by_output.setdefault(output_relpath(f.relpath), []).append(f)
    keep, losers = [], []
    for out, group in by_output.items():
        winner = next((f for f in group if f.relpath == out), group[0])
        keep.append(winner)
        losers += [(readable(f.relpath), f"its colour copy would be {readable(out)}, the same as "
                    f"that of {readable(winner.relpath)}: rename one of them") for f in group if f is not winner]
    return sorted(keep, key=lambda f: f.relpath), losers


def run(options: RunOptions, test_pipeline: beam.Pipeline | None = None) -> dict:
    """Runs the job; returns the report dict (also written as _report.json)."""
    start = time.time()
    files, archives_, prefailed, folders_skipped = check_paths(options.input, options.output, options.allow_foreign)
    if not files and not archives_ and not prefailed:
        raise sources.InputError(f"no files found in {readable(options.input)}: nothing to colorize")
    # The workers would find a broken model only after the pipeline started, once per worker.
    _, card = modeldir.load(options.model)
    n_listed = len(files) + len(prefailed)
    files, collisions = resolve_collisions(files)
    prefailed = prefailed + collisions
    log.info("colorizing %s into %s with the %s model %s",
             f"{len(files)} files" if files else readable(options.input), outputs.OutputTree(options.output).root,
             card["architecture"], options.model or "(shipped default)")

    def report(counts: dict, tree: outputs.OutputTree) -> dict:
        made = {
            "input": readable(options.input), "output": tree.root,
            "model": {"dir": options.model or modeldir.DEFAULT_MODEL_DIR, "architecture": card["architecture"],
                      "image_size": card["image_size"]},
            "counts": {"matched": n_listed + counts.get("matched", 0),
                       "colorized": counts.get("colorized", 0),
                       "skipped_done": counts.get("skipped_done", 0),
                       "skipped_not_image": counts.get("skipped_not_image", 0),
                       "failed": counts.get("failed", 0) + len(prefailed),
                       # Folders not entered (links, hidden folders, this tool's own output folders): listed in
                       # _skipped.jsonl with why; the files in them were never matched.
                       "folders_skipped": len(folders_skipped)},
            # Inputs that carried colour (a sepia or tinted print scanned in colour, a colour photo): coloured
            # anew from their lightness, their own tint replaced. Counted among the colorized.
            "had_colour": counts.get("had_colour", 0),
            "seconds": round(time.time() - start, 1),
            "in_process": in_process,  # a small local job, run in this process (runs_in_process)
            "failures": tree.path(FAILURES),
            "skipped": tree.path(SKIPPED),
        }
        try:
            write_json(tree, REPORT, made)
        except (OSError, outputs.OutputError) as e:
            made["not_written"] = f"the report in {tree.root} could not be written: {reason_of(e)}"
        return made

    def finish(made: dict, tree: outputs.OutputTree) -> None:
        """The gallery and the folder's summary, from every copy on disk and every run's record (this one's too)."""
        if tree.remote:
            return
        try:
            made["folder"] = gallery.build(tree, made, tree.path(FAILURES), tree.path(SKIPPED))
            made["gallery"] = tree.path(gallery.INDEX)
        except (OSError, outputs.OutputError) as e:
            made["not_written"] = f"the gallery in {tree.root} could not be written: {reason_of(e)}"

    total = sum(photos.is_image_name(f.relpath) for f in files) + (zip_members(archives_) if archives_ else 0) or None
    in_process = runs_in_process(files, archives_, options.beam_args)
    job = Launch("run", options.output, LOG, ("_failures", "_skipped"), total, options.beam_args, options.verbose,
                 record=(REPORT, FAILURES, SKIPPED, LOG), in_process=in_process)
    return launch(job, lambda p, tree, progress_folder: build(p, options, card, tree, files, archives_, prefailed,
                                                              progress_folder, folders_skipped),
                  report, test_pipeline, finish)


# A small local job runs in this process. A worker process per core costs each worker TensorFlow's import and
# the model's load before its first photo, 9 s on a 2-core machine, which its extra cores win back only on a
# job of a few hundred megapixels (measured on 2 cores: 6 sample photos 18.0 s -> 9.0 s, 60 one-megapixel
# photos 22.8 -> 15.1 s, 10 twelve-megapixel scans 22.5 -> 17.5 s; the per-photo cost in this process is
# about twice the workers' on the large scans).
IN_PROCESS_PIXELS = 200_000_000
IN_PROCESS_FILES = 2_000


def runs_in_process(files: list, archives_: list, beam_args: tuple[str, ...]) -> bool:
    """Whether a job is small enough to run in this process: local photos (no archive, no gs:// input, no
    --runner) whose headers claim IN_PROCESS_PIXELS in all, and no worker flag of the user's own."""
    if archives_ or not is_local(beam_args) or len(files) > IN_PROCESS_FILES:
        return False
    if any(a.split("=", 1)[0] in LOCAL_WORKER_FLAGS for a in beam_args):
        return False  # the user chose the workers
    total = 0
    for f in files:
        if is_remote(f.path):
            return False
        if photos.is_image_name(f.path):
            total += photos.claimed_pixels(f.path) or 0  # an unreadable header fails fast in the pipeline
            if total > IN_PROCESS_PIXELS:
                return False
    return True


def zip_members(archives_: list[str]) -> int:
    """How many photos the zip archives hold, from their directories (tar streams cannot say): the bar's total."""
    n = 0
    for a in archives_:
        if not a.lower().endswith(".zip"):
            return 0
        with remote.open_read(a) as f:
            try:
                n += sum(not i.is_dir() and photos.is_image_name(i.filename) for i in zipfile.ZipFile(f).infolist())
            except zipfile.BadZipFile:  # the pipeline lists it as failed; the bar goes without a total
                return 0
    return n
