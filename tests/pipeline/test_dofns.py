"""The DoFns of both stages, called directly on real photos: what each yields, tags and writes."""
import hashlib
import io
import json
import os
import zipfile

import numpy as np
import apache_beam as beam
from apache_beam.ml.inference.base import PredictionResult
from PIL import Image

from basics.paths import wire
from pipeline import preprocess, progress, steps
from tests.helpers import jpeg_bytes, write
from tfrecords import contract as c
from tfrecords import records
from basics.lab import lightness


def tagged(outputs):
    """Splits what a DoFn yielded into (main outputs, {tag: [values]})."""
    main, tags = [], {}
    for o in outputs:
        if isinstance(o, beam.pvalue.TaggedOutput):
            tags.setdefault(o.tag, []).append(o.value)
        else:
            main.append(o)
    return main, tags


def read_photos(out, **kw):
    fn = steps.ReadPhotos(str(out), kw.get("overwrite", False), kw.get("max_bytes", 1 << 26), c.DEFAULT_MAX_PIXELS,
                             {"model": kw.get("model", "model-1"), "vividness": kw.get("vividness", 1.0)})
    fn.setup()
    return fn


def test_read_photos_reads_images_skips_others_and_what_is_done(tmp_path, photos):
    data = jpeg_bytes(photos["coffee"])
    write(str(tmp_path / "in" / "a.jpg"), data)
    write(str(tmp_path / "in" / "notes.txt"), b"text")
    fn = read_photos(tmp_path / "out")
    element = steps.Input(wire(str(tmp_path / "in" / "a.jpg")), b"a.jpg", False)
    mtime = os.stat(tmp_path / "in" / "a.jpg").st_mtime_ns
    assert list(fn.process(element)) == [(b"a.jpg", "a.jpg", data, mtime, ())]
    notes = steps.Input(wire(str(tmp_path / "in" / "notes.txt")), b"notes.txt", False)
    main, tags = tagged(fn.process(notes))  # counted by the pipeline, and listed with why
    assert main == [] and tags["tally"] == ["skipped_not_image"] and tags["skipped"][0][0] == "notes.txt"
    write(str(tmp_path / "out" / "a.jpg"), b"someone else's")
    main, tags = tagged(fn.process(element))  # a file in the way that the tool did not write: a failure, not done
    assert main == [] and "was not written by colorize run" in tags["failed"][0][1]
    write(str(tmp_path / "out" / "_done" / "a.jpg.json"), json.dumps(
        {"bytes": len(data), "mtime_ns": mtime, "model": "model-1", "vividness": 1.0}).encode())
    main, tags = tagged(fn.process(element))
    assert main == [] and tags["tally"] == ["skipped_done"]  # its colour copy was made from this input, this model
    assert len(list(read_photos(tmp_path / "out", model="model-2").process(element))) == 1  # another model: redone
    assert len(list(read_photos(tmp_path / "out", vividness=1.3).process(element))) == 1  # another vividness too
    assert len(list(read_photos(tmp_path / "out", overwrite=True).process(element))) == 1


def test_read_photos_expands_a_zip_member_by_member(tmp_path, photos):
    archive = tmp_path / "box.zip"
    small, big = jpeg_bytes(photos["chelsea"][:100, :100]), jpeg_bytes(photos["astronaut"])
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("one.jpg", small)
        z.writestr("../two.jpg", small)
        z.writestr("big.jpg", big)
    fn = read_photos(tmp_path / "out", max_bytes=(len(small) + len(big)) // 2)
    main, tags = tagged(fn.process(steps.Input(wire(str(archive)), b"box.zip", True)))
    assert [(rel, origin, mtime) for rel, origin, _, mtime, _ in main] == [(b"one.jpg", f"{archive}!one.jpg", None)]
    assert sorted(path for path, _ in tags["failed"]) == [f"{archive}!../two.jpg", f"{archive}!big.jpg"]
    assert tags["tally"] == ["matched"] * 3  # members are counted as they are found


def test_prepare_model_input_yields_one_element_per_frame(photos):
    frames = [Image.fromarray(np.roll(photos["chelsea"], 40 * i, axis=1)).convert("L").convert("P") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    fn = steps.PrepareModelInput(64, c.DEFAULT_MAX_PIXELS, with_grey=False)
    fn.setup()
    out = list(fn.process(steps.Photo(b"anim.gif", "anim.gif", buf.getvalue(), 7)))
    assert [key[3:6] for key, _ in out] == [(0, 3, 7), (1, 3, 7), (2, 3, 7)]
    assert out[0][0][2] == buf.getvalue() and out[1][0][2] is None  # only frame 0 carries the bytes
    assert all(x.shape == (64, 64, 1) and -1 <= x.min() <= x.max() <= 1 for _, x in out)
    _, tags = tagged(fn.process(steps.Photo(b"bad.jpg", "bad.jpg", b"\xff\xd8\xff garbage", None)))
    assert [path for path, _ in tags["failed"]] == ["bad.jpg"]


def test_write_photos_joins_the_photos_own_lightness_with_the_predicted_colour(tmp_path, photos):
    grey = np.asarray(Image.fromarray(photos["coffee"]).convert("L"))
    data = jpeg_bytes(grey)
    fn = steps.WritePhotos(str(tmp_path), c.DEFAULT_MAX_PIXELS, {"model": "model-1", "vividness": 1.2})
    fn.setup()
    ab = np.zeros((64, 64, 2), np.float32)
    ab[..., 1] = 40  # yellow everywhere
    key = steps.FrameKey(b"sub/c.jpg", "sub/c.jpg", data, 0, 1, 1234)
    assert tagged(fn.process((key, PredictionResult(None, ab)))) == \
        ([], {"tally": ["colorized"]})
    done = json.loads((tmp_path / "_done" / "sub" / "c.jpg.json").read_text())  # what it was made from, and with
    assert done == {"input": "sub/c.jpg", "bytes": len(data), "mtime_ns": 1234,
                    "sha256": hashlib.sha256(data).hexdigest(), "model": "model-1", "vividness": 1.2}
    with Image.open(tmp_path / "sub" / "c.jpg") as im:
        out = np.asarray(im.convert("RGB"))
    assert out.shape[:2] == grey.shape
    assert np.abs(lightness(out) - lightness(grey)).mean() < 1
    assert (out[..., 0].astype(int) - out[..., 2]).mean() > 20  # yellow: more red than blue


def test_prepare_training_example_tags_skips_and_failures(tmp_path, photos):
    fn = preprocess.PrepareTrainingExample(32, c.DEFAULT_MAX_PIXELS, 1 << 26, with_grey=False)
    fn.setup()
    paths = {"ok.jpg": jpeg_bytes(photos["coffee"]), "grey.jpg": jpeg_bytes(np.asarray(
        Image.fromarray(photos["coffee"]).convert("L"))), "broken.jpg": b"", "notes.txt": b"hi"}
    results = {}
    for name, data in paths.items():
        path = write(str(tmp_path / name), data)
        results[name] = tagged(fn.process(preprocess.Source(wire(path), wire(name), None)))
    main, _ = results["ok.jpg"]
    (source, split_key, l_bytes, ab_bytes), grey = main[0]
    assert split_key == b"ok.jpg" and len(l_bytes) == 32 * 32 and len(ab_bytes) == 32 * 32 * 2 and grey is None
    assert results["grey.jpg"][1]["skipped"][0][1].startswith("no colour")
    assert results["grey.jpg"][1]["tally"] == ["skipped", "skipped: no colour"]
    assert results["notes.txt"][1]["skipped"][0][1].startswith("not an image file")
    assert results["broken.jpg"][1]["failed"][0][1] == "empty file (0 bytes)"


def test_encode_records_writes_what_the_reader_parses(photos):
    fn = preprocess.EncodeRecords(32, val_fraction=0.0)
    fn.setup()
    l_q = np.arange(32 * 32, dtype=np.uint8).reshape(32, 32)
    ab_q = np.full((32, 32, 2), -5, np.int8)
    [(split, data)], tags = tagged(fn.process((preprocess.Example("p.jpg", b"p.jpg", l_q.tobytes(), ab_q.tobytes()), None)))
    assert tags == {"tally": ["written_train"]}
    ex = records.parse_example(data)
    assert split == "train" and ex[c.KEY_SOURCE] == [b"p.jpg"] and ex[c.KEY_HEIGHT] == [32]
    assert np.array_equal(np.frombuffer(ex[c.KEY_L][0], np.uint8).reshape(32, 32), l_q)


def test_a_bundles_last_photos_reach_the_bar_when_the_bundle_ends(tmp_path):
    """A worker's last batch comes in a burst shorter than a tick: it must show at the bundle's end, not
    when the worker shuts down after the whole pipeline."""
    folder = str(tmp_path / "progress")
    os.makedirs(folder)
    fn = preprocess.EncodeRecords(8, val_fraction=0.0, progress_folder=folder)
    fn.setup()
    zeros = (np.zeros(64, np.uint8).tobytes(), np.zeros(128, np.int8).tobytes())
    for i in range(32):
        list(fn.process((preprocess.Example(f"{i}.jpg", f"{i}.jpg".encode(), *zeros), None)))
    assert progress.done_in(folder) < 32  # the first tick published; the burst after it waits
    fn.finish_bundle()
    assert progress.done_in(folder) == 32
