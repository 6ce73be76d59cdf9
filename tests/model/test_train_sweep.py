"""The training sweeps (model/sweep.py, driven by bench/train_sweep.py) train on arrays they build in memory; they
must be exactly the records
`colorize preprocess --embedding none` writes for the same folder, split for split."""
import os

import numpy as np
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline

from tests.helpers import jpeg_bytes, write
from tfrecords import records
from commands import preprocess as preprocess_command



@pytest.mark.slow
def test_sweep_arrays_equal_the_records_preprocess_writes(photos, tmp_path):
    from model import sweep
    src = str(tmp_path / "photos")
    for name, rgb in photos.items():
        write(os.path.join(src, "a", f"{name}.jpg"), jpeg_bytes(rgb))
        write(os.path.join(src, "b", f"{name}.jpg"), jpeg_bytes(rgb[::-1].copy()))
    out = str(tmp_path / "records")
    preprocess_command.job(["--input", src, "--output", out, "--image-size", "32", "--embedding", "none",
                    "--val-fraction", "0.4"], test_pipeline=TestPipeline(runner=FnApiRunner()))
    built = sweep.build_arrays(src, 32, 0.4, workers=2)
    assert set(built) == {"train", "val"}
    for split, arrays in built.items():
        ours = sweep.model_arrays([arrays])
        theirs = records.read_arrays(out, split)
        order = lambda a: np.argsort([x.tobytes() for x in a["l"]])  # noqa: E731  (records come in any order)
        for key in ("l", "ab"):
            np.testing.assert_array_equal(ours[key][order(ours)], theirs[key][order(theirs)])


def test_source_weights_repeat_a_sources_training_photos_only():
    from model import sweep
    rng = np.random.default_rng(0)
    cache = {}
    for src, n in (("photos", 3), ("more", 5)):
        for split, m in (("train", n), ("val", 1)):
            cache[f"{src}/{split}/l"] = rng.integers(0, 256, (m, 4, 4), dtype=np.uint8)
            cache[f"{src}/{split}/ab"] = rng.integers(-128, 128, (m, 4, 4, 2), dtype=np.int8)
    parts = sweep.source_parts(cache, ["photos", "more"], {"photos": 2})
    train = sweep.model_arrays(parts["train"])
    assert len(train["l"]) == 2 * 3 + 5
    # photos first, twice, then more: the rebalancing weights' first records are still the first source's
    l = np.concatenate([p["l"] for p in parts["train"]])
    np.testing.assert_array_equal(l[:3], cache["photos/train/l"])
    np.testing.assert_array_equal(l[3:6], cache["photos/train/l"])
    np.testing.assert_array_equal(l[6:], cache["more/train/l"])
    assert len(sweep.model_arrays(parts["val"])["l"]) == 2
    assert [len(p["l"]) for p in sweep.source_parts(cache, ["more"], {})["train"]] == [5]


@pytest.mark.slow
def test_a_sweep_run_trains_through_the_product_path_and_scores_each_decoding(photos, tmp_path):
    """The sweep drives model.train.train_network, the path `colorize train` takes: the same checkpoints, the
    same card (with the sweep's data), a model the product loads; then it scores every decoding it was asked,
    on a whole held-out source (which chose its best epoch) and on the training sources' random split."""
    from model import modeldir
    from model import sweep
    src, far = str(tmp_path / "photos"), str(tmp_path / "elsewhere")
    for name, rgb in photos.items():
        write(os.path.join(src, f"{name}.jpg"), jpeg_bytes(rgb))
        write(os.path.join(src, f"{name}-flipped.jpg"), jpeg_bytes(rgb[:, ::-1].copy()))
        write(os.path.join(far, f"{name}-upside-down.jpg"), jpeg_bytes(rgb[::-1].copy()))
    cache = sweep.load_arrays(str(tmp_path), [(f"photos={src}", 0.3), (f"far={far}", 1.0)], 32, workers=1)
    assert set(cache) == {"photos", "far"} and all(os.path.exists(p) for p in cache.values())
    with np.load(cache["far"]) as held:
        assert set(held) == {"far/val/l", "far/val/ab"} and len(held["far/val/l"]) == len(photos)
    out = str(tmp_path / "run")
    spec = {**sweep.DEFAULTS, "name": "tiny", "sources": ["photos"], "held_out": ["far"], "epochs": 2,
            "batch_size": 4, "seed": 1, "temperatures": [0.38, 1.0], "cache": cache, "val_records": None,
            "samples": None, "image_size": 32, "out": out, "checkpoint_parts_mb": 1}
    spec.pop("seeds")
    result = sweep.train_one(spec)
    card = modeldir.read_card(out)
    assert card["data"]["built_by"] == "bench/train_sweep.py" and card["training"]["epochs"] == 2
    assert card["architecture"] == "beta" and card["metrics"]["split"] == "held-out sources"
    assert {"best.keras", "last.keras", "model.keras", "last.keras.parts.json"} <= set(os.listdir(out))
    model, _ = modeldir.load(out)
    assert model.output_shape == (None, 32, 32, 2)
    assert set(result["scores"]) == {"T0.38 x1.0", "T1.0 x1.0"} and result["epochs_done"] == 2
    assert result["val_photos"] == len(photos) and result["train_photos"] < 2 * len(photos)
    assert all(s["random"]["auc"] > 0 for s in result["scores"].values())
    # T 1 is the distribution's mean, 0.38 nearer its mode: the sharper decoding is the more colourful
    assert result["scores"]["T0.38 x1.0"]["val"]["colourfulness"] > result["scores"]["T1.0 x1.0"]["val"]["colourfulness"]
