"""Shared fixtures: the sample photos, and records made from them by the real preprocess pipeline."""
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.helpers import jpeg_bytes, real_photos, write  # noqa: E402

RECORD_SIZE = 32


@pytest.fixture(scope="session")
def photos():
    return real_photos()


@pytest.fixture(scope="session")
def records(tmp_path_factory, photos):
    """Records made by the real preprocess pipeline from the six sample photos (and their mirror images)."""
    from pipeline import preprocess
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.test_pipeline import TestPipeline
    root = tmp_path_factory.mktemp("train_photos")
    for name, rgb in photos.items():
        write(str(root / f"{name}.jpg"), jpeg_bytes(rgb))
        write(str(root / f"{name}_mirror.jpg"), jpeg_bytes(rgb[:, ::-1].copy()))
    out = tmp_path_factory.mktemp("train_records")
    preprocess.run(["--input", str(root), "--output", str(out), "--image-size", str(RECORD_SIZE),
                    "--inception-weights", "random", "--val-fraction", "0.25"],
                   test_pipeline=TestPipeline(runner=FnApiRunner()))
    return out
