"""`colorize evaluate` on records and on a photo folder, always beside the grayscale baseline."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers import jpeg_bytes, write
from commands import train

pytestmark = pytest.mark.slow  # runs the real command end to end


def test_evaluate_records_writes_metrics_with_baseline_and_comparison(records, tmp_path):
    model_dir = str(tmp_path / "beta")
    train.main(["--architecture", "beta", "--data", str(records), "--output", model_dir,
                "--epochs", "1", "--batch-size", "4"])
    r = subprocess.run([sys.executable, "-m", "commands.cli", "evaluate", "--model", model_dir, "--data", str(records),
                        "--split", "val", "--report", str(tmp_path / "report")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path / "report" / "metrics.json").read_text())
    info = json.loads((records / "dataset.json").read_text())
    assert m["images"] == info["counts"]["per_split"]["val"] == len(m["per_image"])
    for key in ("auc", "acc@5", "acc@10", "psnr", "colourfulness"):
        assert key in m["model"] and key in m["grayscale_baseline"]
    assert m["grayscale_baseline"]["colourfulness"] < 1  # ab = 0 is grey
    assert Image.open(tmp_path / "report" / "comparison.png").size[0] > 100


def test_evaluate_photo_folder_at_full_resolution_with_the_shipped_model(tmp_path, photos):
    for name in ("astronaut", "coffee"):
        write(str(tmp_path / "photos" / f"{name}.jpg"), jpeg_bytes(photos[name]))
    grey = np.asarray(Image.fromarray(photos["chelsea"]).convert("L").convert("RGB"))
    write(str(tmp_path / "photos" / "grey.jpg"), jpeg_bytes(grey))
    r = subprocess.run([sys.executable, "-m", "commands.cli", "evaluate", "--images", str(tmp_path / "photos"),
                        "--report", str(tmp_path / "report")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert m["images"] == 2 and [s["path"].endswith("grey.jpg") for s in m["skipped"]] == [True]
    assert m["model"]["auc"] > m["grayscale_baseline"]["auc"]
    assert m["model"]["colourfulness"] > 5 * m["grayscale_baseline"]["colourfulness"]


class ColourJudge:
    """A stand-in judge whose 'class' is whether a photo has colour: the agreement arithmetic checked by hand."""
    name = "colour-or-not"

    def top1(self, photos):
        return np.array([int(np.ptp(p.astype(int), axis=-1).max() > 20) for p in photos])


def constant_cast_model(size, ab):
    """A model that paints every pixel one ab colour (scaled), whatever the photo."""
    import keras
    l_in = keras.Input((size, size, 1))
    out = keras.layers.Conv2D(2, 1, kernel_initializer="zeros",
                              bias_initializer=keras.initializers.Constant(np.float32(ab) / 110.0))(l_in)
    return keras.Model(l_in, out)


def test_semantic_agreement_by_hand(photos):
    from model import evaluate
    card = {"architecture": "beta", "image_size": 32}
    named = [(n, jpeg_bytes(photos[n])) for n in ("astronaut", "coffee", "rocket")]
    cast = evaluate.on_photos(constant_cast_model(32, (40.0, 40.0)), card, named, "three photos", judge=ColourJudge())
    # originals and their orange-cast colorizations have colour (class 1), the grey versions not (class 0)
    assert cast["model"]["semantic_agreement"] == 100 and cast["grayscale_baseline"]["semantic_agreement"] == 0
    assert [p["imagenet_top1"] for p in cast["_per_image"]] == [{"grayscale": 0, "model": 1, "original": 1}] * 3
    grey = evaluate.on_photos(constant_cast_model(32, (0.0, 0.0)), card, named, "three photos", judge=ColourJudge())
    assert grey["model"]["semantic_agreement"] == 0
    text = evaluate.summary_text(cast)
    assert "semantic test (colour-or-not's top-1 ImageNet class the same as the original's): 100.0 %" in text
    assert "hue-balanced recall" in text and "0-60 red" in text


def test_the_semantic_judge_is_never_the_models_own_encoder():
    from model import semantic
    assert semantic.judge_name_for({"encoder": {"name": "efficientnet-lite0"}}) == "efficientnet-lite2"
    assert semantic.judge_name_for({"encoder": {"name": "efficientnet-lite2"}}) == "efficientnet-lite0"
    assert semantic.judge_name_for({"encoder": None}) == "efficientnet-lite2"


def test_evaluate_prints_the_hue_table_and_the_semantic_test_on_held_out_photos(tmp_path, photos):
    from tfrecords import contract as c
    folder = tmp_path / "photos"
    for name, rgb in photos.items():
        write(str(folder / f"{name}.jpg"), jpeg_bytes(rgb))
    held_out = sorted(f"{n}.jpg" for n in photos if c.split_of(f"{n}.jpg", 0.5) == "val")
    assert 0 < len(held_out) < len(photos)
    r = subprocess.run([sys.executable, "-m", "commands.cli", "evaluate", "--images", str(folder), "--held-out", "0.5",
                        "--report", str(tmp_path / "report")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert sorted(p["source"] for p in m["per_image"]) == held_out
    assert set(m["model"]["hue_recall"]) == set(m["grayscale_baseline"]["hue_recall"]) and len(m["model"]["hue_recall"]) == 6
    assert m["grayscale_baseline"]["hue_balanced_recall"] == 0
    assert "hue-balanced recall" in r.stdout and "180-240 green/cyan" in r.stdout
    assert "semantic test (efficientnet-lite" in r.stdout
    by_hand = np.mean([100.0 * (p["imagenet_top1"]["model"] == p["imagenet_top1"]["original"]) for p in m["per_image"]])
    assert m["model"]["semantic_agreement"] == by_hand


def test_files_left_out_of_the_figures_are_said_on_the_terminal(photos):
    """Not only in metrics.json: the summary names how many files were not scored and why."""
    from basics.photos import ImageError
    from model import evaluate
    grey = np.asarray(Image.fromarray(photos["coffee"]).convert("L"))
    named = [("cat.jpg", jpeg_bytes(photos["chelsea"])), ("grey.jpg", jpeg_bytes(grey)),
             ("notes.txt", ImageError("not an image file")), ("cut.jpg", ImageError("cannot decode image: cut short"))]
    result = evaluate.on_photos(constant_cast_model(32, (10.0, 10.0)), {"architecture": "beta", "image_size": 32},
                                named, "four files")
    line = evaluate.summary_text(result).splitlines()[-1]
    assert result["images"] == 1 and line.startswith("not scored: 3 file(s), each listed in metrics.json")
    assert "not an image file" in line and "cut short" in line
