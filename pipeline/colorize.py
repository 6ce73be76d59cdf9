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

The steps and what flows between them: pipeline/steps.py; the RunInference handlers: pipeline/handlers.py; the
launch plan (paths, listing, collisions, in-process or workers): pipeline/plan.py.
"""
import posixpath
import time

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

from basics import photos
from basics.errors import reason_of
from basics.paths import readable, wire
from model import modeldir
from pipeline import gallery, hintsfile, ledger, outputs, sources
from pipeline.beam_support import (COUNTS_FILE, TALLY, CountOutcomes, Spread, WriteFailures, chunk_size, failure_line,
                                   log, write_json)
from pipeline.handlers import ColorizationModelHandler, EmbedInception
from pipeline.launcher import Launch, launch
from pipeline.options import RunOptions
from pipeline.report import Counts, RunReport
from pipeline.plan import check_paths, resolve_collisions, runs_in_process, zip_members
from pipeline.steps import ColouredFrame, Input, PrepareModelInput, ReadPhotos, WriteMultiFrame, WritePhotos

REPORT, FAILURES, SKIPPED, LOG = "_report.json", "_failures.jsonl", "_skipped.jsonl", "_log.txt"


def build(p: beam.Pipeline, options: RunOptions, card: dict, tree: outputs.OutputTree, files: list,
          archives_: list[str], prefailed: list, progress_folder: str | None = None,
          folders_skipped: list | None = None, hints: dict | None = None) -> None:
    """Adds the colorize graph to pipeline `p`, writing into `tree`, with the model `card` describes;
    folders_skipped: (path, why) of the folders the listing did not enter, listed with the skipped files;
    hints: {origin: points} (pipeline/hintsfile.read), each photo's put in its own element."""
    size, fusion = card["image_size"], card["architecture"] == "fusion"
    made_with = ledger.settings(card, options.vividness)
    hints = hints or {}

    def own(origin: str) -> tuple:
        return ((origin, hints[origin]),) if origin in hints else ()

    def members(archive: str) -> tuple:
        return tuple((o, v) for o, v in hints.items() if o.startswith(readable(archive) + "!"))
    elements = [Input(wire(f.path), wire(f.relpath), False, own(readable(f.relpath))) for f in files] + \
               [Input(wire(a), wire(posixpath.basename(a)), True, members(a)) for a in archives_]
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
        PrepareModelInput(size, options.max_pixels, fusion, progress_folder, with_hints=bool(card.get("hints")))
    ).with_outputs("failed", TALLY, main="ok")
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
                         kv[0].frame, kv[0].origin, kv[0].data, kv[1].inference.astype(np.float16), kv[0].mtime_ns,
                         kv[0].points)))
                     | "GroupFrames" >> beam.GroupByKey()
                     | "WriteMultiFrame" >> beam.ParDo(
                         WriteMultiFrame(tree.root, options.max_pixels, made_with, progress_folder))
                     .with_outputs("failed", TALLY, main="ok"))
    failed = ((read.failed, prepared.failed, written.failed, written_multi.failed)
              | "Failures" >> WriteFailures(tree.path("_failures"), prefailed))
    ((read[TALLY], prepared[TALLY], written[TALLY], written_multi[TALLY], failed)
     | "CountOutcomes" >> CountOutcomes(tree.path(COUNTS_FILE)))


def run(options: RunOptions, test_pipeline: beam.Pipeline | None = None) -> RunReport | dict:
    """Runs the job; returns its report (also written as _report.json), or a dry run's dict of steps."""
    start = time.time()
    files, archives_, prefailed, folders_skipped = check_paths(options.input, options.output, options.allow_foreign)
    if not files and not archives_ and not prefailed:
        raise sources.InputError(f"no files found in {readable(options.input)}: nothing to colorize")
    # The workers would find a broken model only after the pipeline started, once per worker.
    _, card = modeldir.load(options.model)
    hints = None
    if options.hints:  # read and checked whole before any work: a wrong line is one error, not a half-done run
        if not card.get("hints"):
            raise hintsfile.HintsError(f"the model {options.model or '(shipped default)'} takes no colour hints: run "
                                       "without --hints, or with a model trained with them (colorize train --hints)")
        hints = hintsfile.read(options.hints, {readable(f.relpath) for f in files} | {e[0] for e in prefailed},
                               {readable(a) for a in archives_})
    n_listed = len(files) + len(prefailed)
    files, collisions = resolve_collisions(files)
    prefailed = prefailed + collisions
    log.info("colorizing %s into %s with the %s model %s",
             f"{len(files)} files" if files else readable(options.input), outputs.OutputTree(options.output).root,
             card["architecture"], options.model or "(shipped default)")

    def report(counts: dict, tree: outputs.OutputTree) -> RunReport:
        made = RunReport(
            input=readable(options.input), output=tree.root,
            model={"dir": options.model or modeldir.DEFAULT_MODEL_DIR, "architecture": card["architecture"],
                   "image_size": card["image_size"], "hints": bool(card.get("hints"))},
            counts=Counts(matched=n_listed + counts.get("matched", 0), colorized=counts.get("colorized", 0),
                          skipped_done=counts.get("skipped_done", 0),
                          skipped_not_image=counts.get("skipped_not_image", 0),
                          failed=counts.get("failed", 0) + len(prefailed), folders_skipped=len(folders_skipped)),
            had_colour=counts.get("had_colour", 0), seconds=round(time.time() - start, 1), in_process=in_process,
            failures=tree.path(FAILURES), skipped=tree.path(SKIPPED))
        try:
            write_json(tree, REPORT, made.to_json())
        except (OSError, outputs.OutputError) as e:
            made.not_written = f"the report in {tree.root} could not be written: {reason_of(e)}"
        return made

    def finish(made: RunReport, tree: outputs.OutputTree) -> None:
        """The gallery and the folder's summary, from every copy on disk and every run's record (this one's too)."""
        if tree.remote:
            return
        try:
            made.folder = gallery.build(tree, made, REPORT, tree.path(FAILURES), tree.path(SKIPPED))
            made.gallery = tree.path(gallery.INDEX)
        except (OSError, outputs.OutputError) as e:
            made.not_written = f"the gallery in {tree.root} could not be written: {reason_of(e)}"

    total = sum(photos.is_image_name(f.relpath) for f in files) + (zip_members(archives_) if archives_ else 0) or None
    in_process = runs_in_process(files, archives_, options.beam_args)
    job = Launch("run", options.output, LOG, ("_failures", "_skipped"), total, options.beam_args, options.verbose,
                 record=(REPORT, FAILURES, SKIPPED, LOG), in_process=in_process)
    return launch(job, lambda p, tree, progress_folder: build(p, options, card, tree, files, archives_, prefailed,
                                                              progress_folder, folders_skipped, hints),
                  report, test_pipeline, finish)


