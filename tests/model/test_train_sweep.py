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
