"""bench/train_sweep.py trains on arrays it builds in memory; they must be exactly the records
`colorize preprocess --embedding none` writes for the same folder, split for split."""
import importlib
import os

import numpy as np
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline

from pipeline import preprocess
from tests.helpers import jpeg_bytes, write
from tfrecords import records

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_sweep_arrays_equal_the_records_preprocess_writes(photos, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "bench"))  # importable by name: its workers unpickle it
    sweep = importlib.import_module("train_sweep")
    src = str(tmp_path / "photos")
    for name, rgb in photos.items():
        write(os.path.join(src, "a", f"{name}.jpg"), jpeg_bytes(rgb))
        write(os.path.join(src, "b", f"{name}.jpg"), jpeg_bytes(rgb[::-1].copy()))
    out = str(tmp_path / "records")
    preprocess.run(["--input", src, "--output", out, "--image-size", "32", "--embedding", "none",
                    "--val-fraction", "0.4"], test_pipeline=TestPipeline(runner=FnApiRunner()))
    built = sweep.build_arrays(src, 32, 0.4, workers=2)
    assert set(built) == {"train", "val"}
    for split, arrays in built.items():
        ours = sweep.model_arrays([arrays])
        theirs = records.read_arrays(out, split)
        order = lambda a: np.argsort([x.tobytes() for x in a["l"]])  # noqa: E731  (records come in any order)
        for key in ("l", "ab"):
            np.testing.assert_array_equal(ours[key][order(ours)], theirs[key][order(theirs)])


def test_source_weights_repeat_a_sources_training_photos_only(monkeypatch):
    monkeypatch.syspath_prepend(os.path.join(ROOT, "bench"))
    sweep = importlib.import_module("train_sweep")
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
