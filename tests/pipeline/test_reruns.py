"""What a rerun of `colorize run` redoes and what a run never reads: an input edited at the same size and a
changed --vividness are colorized again, a file merely touched is not; the tool's own output folder inside the
input, hidden folders and links to folders are not entered, each named with why. And the lightness promise for
any model: a model that predicts colours outside sRGB still leaves each copy its input's L."""
import io
import json
import os

import numpy as np
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from PIL import Image

from basics import photos as images
from basics.lab import lightness, rgb_to_lab
from commands import evaluate as evaluate_command
from commands import run as run_command
from pipeline import sources
from tests.helpers import jpeg_bytes, png_bytes, write

pytestmark = pytest.mark.slow  # runs the real command end to end


def run(*args):
    return run_command.job(list(args), test_pipeline=TestPipeline(runner=FnApiRunner()))


def grey(rgb):
    return np.asarray(Image.fromarray(rgb).convert("L"))


def chroma(path):
    with Image.open(path) as im:
        lab = rgb_to_lab(np.asarray(im.convert("RGB")))
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def test_a_same_size_edit_and_another_vividness_are_redone_a_touch_is_not(tmp_path, photos):
    root, out = tmp_path / "scans", tmp_path / "colour"
    tiff = root / "coffee.tif"  # uncompressed: an edit of its pixels keeps its size
    root.mkdir()
    Image.fromarray(grey(photos["coffee"])).save(tiff)
    write(str(root / "cat.jpg"), jpeg_bytes(grey(photos["chelsea"])))
    first = run("--input", str(root), "--output", str(out))
    assert first.counts.colorized == 2
    assert run("--input", str(root), "--output", str(out)).counts.skipped_done == 2

    size, before = tiff.stat().st_size, (out / "coffee.tif").read_bytes()
    with Image.open(tiff) as im:
        edited = np.asarray(im).copy()
    edited[:150] = 255 - edited[:150]  # a retouch: new pixels, the same number of bytes
    Image.fromarray(edited).save(tiff)
    assert tiff.stat().st_size == size
    os.utime(root / "cat.jpg")  # touched, the same bytes: its time moved, its SHA-256 did not
    again = run("--input", str(root), "--output", str(out))
    assert (again.counts.colorized, again.counts.skipped_done) == (1, 1)
    assert (out / "coffee.tif").read_bytes() != before
    with Image.open(out / "coffee.tif") as im:
        assert np.abs(lightness(np.asarray(im.convert("RGB"))) - lightness(edited)).mean() < 0.5

    quiet = chroma(out / "cat.jpg")
    louder = run("--input", str(root), "--output", str(out), "--vividness", "1.5")
    assert louder.counts.colorized == 2 and louder.counts.skipped_done == 0
    assert chroma(out / "cat.jpg") > 1.3 * quiet
    record = json.loads((out / "_done" / "cat.jpg.json").read_text())
    assert record["vividness"] == 1.5 and record["mtime_ns"] == (root / "cat.jpg").stat().st_mtime_ns
    assert run("--input", str(root), "--output", str(out), "--vividness", "1.5").counts.skipped_done == 2


def test_its_own_output_hidden_folders_and_links_are_never_read_as_input(tmp_path, photos):
    scans, elsewhere = tmp_path / "scans", tmp_path / "elsewhere"
    write(str(scans / "1950s" / "cat.jpg"), jpeg_bytes(grey(photos["chelsea"])))
    write(str(scans / ".venv" / "lib" / "icon.png"), png_bytes(Image.fromarray(photos["coffee"])))
    write(str(elsewhere / "rocket.jpg"), jpeg_bytes(grey(photos["rocket"])))
    os.symlink(elsewhere, scans / "more")
    first = run("--input", str(scans), "--output", str(scans / "colour"))  # the output inside the input
    assert first.counts.colorized == 1 and first.counts.folders_skipped == 2

    other = tmp_path / "other"
    report = run("--input", str(scans), "--output", str(other))
    n = report.to_json()["counts"]
    assert (n["matched"], n["colorized"], n["folders_skipped"]) == (1, 1, 3)  # colour/ never read back
    assert not (other / "colour").exists() and (other / "1950s" / "cat.jpg").exists()
    skipped = {json.loads(line)["path"]: json.loads(line)["reason"]
               for line in (other / "_skipped.jsonl").read_text().splitlines()}
    assert skipped == {"colour/": sources.OUTPUT_FOLDER, ".venv/": sources.HIDDEN_FOLDER,
                       "more/": sources.LINKED_FOLDER}
    assert run_command.summary(report) == 0

    scored = dict(evaluate_command.photos_in(str(scans)))  # the folders evaluate does not enter are said too
    assert {k for k, v in scored.items() if isinstance(v, Exception)} == {"colour/", ".venv/", "more/"}
    assert "an output folder of colorize run" in str(scored["colour/"]) and "1950s/cat.jpg" in scored
    # neither stage scores or colorizes this tool's copies as if they were photos
    for stage in (lambda: list(evaluate_command.photos_in(str(scans / "colour"))),
                  lambda: run("--input", str(scans / "colour"), "--output", str(tmp_path / "again"))):
        with pytest.raises(sources.InputError, match="is an output folder of colorize run"):
            stage()


def wild_model(model_dir, size=64):
    """A model whose colours lie mostly outside sRGB: ab up to about +-110, changing with L."""
    import keras
    from model import modeldir
    l_in = keras.Input((size, size, 1))
    out = keras.layers.Conv2D(2, 1, kernel_initializer=keras.initializers.Constant(np.float32([[[[1.0, -0.8]]]])),
                              bias_initializer=keras.initializers.Constant(np.float32([0.3, 0.5])))(l_in)
    os.makedirs(model_dir)
    keras.Model(l_in, out).save(os.path.join(model_dir, modeldir.MODEL_FILE))
    modeldir.write_card(str(model_dir), {"architecture": "beta", "image_size": size, "embedding": None,
                                         "head": "regression"})


def test_a_model_predicting_colours_outside_srgb_leaves_every_copy_its_lightness(tmp_path, photos):
    wild_model(tmp_path / "wild")
    root, out = tmp_path / "bw", tmp_path / "colour"
    names = {"coffee": "png", "astronaut": "tif", "chelsea": "jpg", "rocket": "png"}
    root.mkdir()
    for name, ext in names.items():
        Image.fromarray(grey(photos[name])).save(root / f"{name}.{ext}")
    assert run("--input", str(root), "--output", str(out), "--model", str(tmp_path / "wild")).counts.colorized == 4
    for name, ext in names.items():
        with open(root / f"{name}.{ext}", "rb") as f:
            l_in = lightness(images.eight_bit(images.master(images.open_image(f.read())).pixels))
        with Image.open(out / f"{name}.{ext}") as im:
            colour = np.asarray(im.convert("RGB"))
        lab = rgb_to_lab(colour)
        assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 20, name  # wild indeed
        err = np.abs(lightness(colour) - l_in).mean()
        if ext == "jpg":  # what re-encoding a grey photo as a colour JPEG costs anyway, at the same quality
            grey_rgb = np.repeat(grey(photos[name])[..., None], 3, -1)
            again = np.asarray(Image.open(io.BytesIO(jpeg_bytes(grey_rgb))).convert("RGB"))
            assert err < max(0.5, 2 * np.abs(lightness(again) - l_in).mean() + 0.5), (name, err)
        else:
            assert err < 0.5, (name, err)


def test_the_progress_bar_counts_photos_only(tmp_path, photos, capsys):
    """notes.txt beside the photos is skipped as not an image, and was never one of the bar's photos."""
    write(str(tmp_path / "scans" / "cat.jpg"), jpeg_bytes(grey(photos["chelsea"])))
    write(str(tmp_path / "scans" / "notes.txt"), b"box 12, shelf 3")
    write(str(tmp_path / "scans" / "list.csv"), b"cat.jpg,1950")
    report = run("--input", str(tmp_path / "scans"), "--output", str(tmp_path / "colour"))
    assert report.counts.matched == 3 and report.counts.skipped_not_image == 2
    bar = [line for line in capsys.readouterr().err.replace("\r", "\n").splitlines() if " photos " in line]
    assert bar and "1/1 photos" in bar[-1]
