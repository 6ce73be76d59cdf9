"""The steps of `colorize run` (pipeline/colorize.py draws the graph): what flows between them and the DoFns.

    Input --ReadPhotos (skip what is done: pipeline/ledger.py; expand archives)--> Photo
    Photo --PrepareModelInput (one element per frame or page)--> (FrameKey, L at the model's size [, its hints]))
    (FrameKey, PredictionResult) --WritePhotos / WriteMultiFrame (own L + upsampled ab, the record, thumbnails)-->
"""
import itertools
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

import apache_beam as beam
import numpy as np

from basics import encoding, photos, remote, view
from basics.errors import reason_of
from basics.lab import lightness, rgb_to_lab
from basics.paths import is_remote, readable, unwire, wire
from model import inference
from pipeline import archives, gallery, ledger, outputs, progress, sources
from pipeline.beam_support import PHOTO_ERRORS, failure, log, tally
from pipeline.handlers import Hinted
from tfrecords import contract as c

SKIP_REASONS = {"skipped_not_image": "not an image: its name ends in none of " + " ".join(photos.IMAGE_EXTENSIONS),
                "skipped_done": "already done: its colour copy was made from this input with this model, "
                                "vividness and hints (--overwrite redoes it)"}


# What flows between the DoFns. Paths travel as bytes (basics.paths.wire): names that are not UTF-8 keep
# their exact bytes; `origin` is the readable name reports give (RELPATH, or ARCHIVE!MEMBER).
class Input(NamedTuple):
    """A listed input: a photo, or an archive to expand; hints: ((origin, points), ...) of the photo, or of the
    archive's members, from `--hints` (pipeline/hintsfile.py): they travel with their photos."""
    path: bytes
    relpath: bytes
    archive: bool
    hints: tuple = ()


class Photo(NamedTuple):
    """A photo's encoded bytes, read within the limits, the input's modification time (None: it has none) and its
    colour hints ((x, y, a, b), ...)."""
    relpath: bytes
    origin: str
    data: bytes
    mtime_ns: int | None
    points: tuple = ()


class FrameKey(NamedTuple):
    """The key of one frame (of an animation) or page (of a TIFF) on its way through the model; only frame 0
    carries the photo's bytes, so a many-page file is not copied once per page."""
    relpath: bytes
    origin: str
    data: bytes | None
    frame: int
    frames: int
    mtime_ns: int | None
    points: tuple = ()


class ColouredFrame(NamedTuple):
    """One frame's predicted ab, gathered with the photo's other frames (GroupFrames) into one file."""
    frame: int
    origin: str
    data: bytes | None
    ab: np.ndarray
    mtime_ns: int | None
    points: tuple = ()


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
        hints = dict(element.hints)
        try:
            if element.archive:
                yield from self._expand(path, hints)
                return
            if not photos.is_image_name(relpath):  # skipped by its name: never stat'ed, never read
                yield from self._skipped("skipped_not_image", origin)
                return
            # The file's (or object's) time vouches for its content; where a store gives none, its bytes do
            if is_remote(path):
                size, mtime = remote.stat(path)
            else:
                st = os.stat(path)
                size, mtime = st.st_size, st.st_mtime_ns
            points = hints.get(origin, ())
            if (skip := self._skip(relpath, lambda: size, mtime,
                                   lambda: sources.read_file(path, self.max_bytes, None), points)) is not None:
                yield from self._skipped(skip, origin)
            else:
                yield Photo(element.relpath, origin, sources.read_file(path, self.max_bytes, self.check_head), mtime,
                            points)
        except PHOTO_ERRORS as e:
            self.ticker.tick()
            yield failure(origin, e)

    def _skipped(self, skip, origin):
        """A skip: counted, listed with its reason, and ticked on the bar unless the file is not a photo (the
        bar counts photos only: one that is not was never in its total)."""
        if skip != "skipped_not_image":
            self.ticker.tick()
        yield tally(skip)
        yield beam.pvalue.TaggedOutput("skipped", (origin, SKIP_REASONS[skip]))

    def _skip(self, relpath, size, mtime_ns, content, points=()):
        """Why an input is skipped, or None to colorize it (ledger.decide: size() its bytes' count, mtime_ns its
        time or None, content() its bytes, points its hints). A file in the way that this tool did not write from
        this input is an ImageError (a listed failure): never taken as done, never replaced without --overwrite."""
        if not photos.is_image_name(relpath):
            return "skipped_not_image"
        out = output_relpath(relpath)
        if self.overwrite or not self.tree.exists(out):
            return None
        return ledger.decide(self.tree.read(ledger.ledger_of(out)), out, ledger.with_hints(self.made_with, points),
                             size(), mtime_ns, content)

    def _expand(self, path, hints):
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

                    def content(m: archives.Member = m, data: list = data) -> bytes:
                        if not data:
                            with m.open() as stream:
                                data.append(sources.read_bounded(stream, m.size, self.max_bytes, self.check_head))
                        return data[0]
                    # a member's own time is not trusted to vouch for it (archivers set it freely): its bytes do
                    points = hints.get(origin, ())
                    if (skip := self._skip(relpath, lambda m=m: m.size, None, content, points)) is not None:
                        yield from self._skipped(skip, origin)
                        continue
                    yield Photo(wire(relpath), origin, content(), None, points)
                except PHOTO_ERRORS as e:
                    self.ticker.tick()
                    yield failure(origin, e)


class PrepareModelInput(progress.Counting, beam.DoFn):
    """Photo -> (FrameKey, example): L at the model's size [+ grey 299 for Inception] [as handlers.Hinted with
    its hints, for a model that takes them], one element per frame of an animation / page of a TIFF (the hints
    hold for every frame)."""

    def __init__(self, size, max_pixels, with_grey, progress_folder=None, with_hints=False):
        self.size, self.max_pixels, self.with_grey = size, max_pixels, with_grey
        self.progress_folder, self.with_hints = progress_folder, with_hints
        # JPEGs decode at reduced scale here: only the model-size L (and Inception's view) is needed now.
        self.draft = max(size, c.INCEPTION_SIZE) if with_grey else size

    def process(self, element: Photo) -> Iterator[Any]:
        relpath, origin, data, mtime, points = element
        try:
            prepared = []
            for i, n, im in photos.frames(data, self.max_pixels, draft_size=self.draft):
                pixels = photos.eight_bit(photos.master(im).pixels)  # the L its colour copy keeps, as 8 bits
                squeezed = view.square(pixels, self.size, view.INFERENCE_VIEW)  # one resize for both uses
                if i == 0 and pixels.ndim == 3 and view.has_colour(rgb_to_lab(squeezed)):
                    prepared.append(tally("had_colour"))  # a tinted (sepia) print scanned in colour
                l_small = view.model_input_of_view(squeezed)
                example = ((l_small, view.inception_input(pixels)) if self.with_grey
                           else Hinted(l_small, points) if self.with_hints else l_small)
                prepared.append((FrameKey(relpath, origin, data if i == 0 else None, i, n, mtime, points), example))
        except PHOTO_ERRORS as e:
            self.ticker.tick()
            yield failure(origin, e)
            return
        yield from prepared


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
        yield from self.write(key.relpath, key.origin, key.data, key.mtime_ns, [result.inference], key.points)

    def write(self, relpath: str, origin: str, data: bytes, mtime_ns: int | None, abs_small: list,
              points: tuple = ()) -> Iterator[Any]:
        out = output_relpath(unwire(relpath))
        first = []  # the first frame's (colour, pixels), kept for the gallery's thumbnails
        try:
            style, frames = colour_frames(data, abs_small, self.max_pixels)
            record = ledger.ledger_of(out)
            # Before the copy, a record that it is being written: a run killed between the copy's rename and its
            # final record leaves a copy the next run knows for its own and redoes, never one it takes for a file
            # of the user's. After it, the final record; one that cannot be written (a full disk) takes the copy
            # with it, or the next run would find a copy it cannot vouch for.
            done = ledger.record(origin, data, mtime_ns, ledger.with_hints(self.made_with, points))  # hashed once
            self.tree.write(record, ledger.encoded(done, ledger.WRITING))
            self.tree.write(out, encoding.encode(style, keeping_first(frames, first)))
            try:
                self.tree.write(record, ledger.encoded(done))
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
        yield from self.write(relpath, parts[0].origin, parts[0].data, parts[0].mtime_ns, [p.ab for p in parts],
                              parts[0].points)
