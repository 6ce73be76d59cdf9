"""Shared fixtures: the sample photos, and records made from them by the real preprocess pipeline."""
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.helpers import mirrored_records, real_photos  # noqa: E402

RECORD_SIZE = 32


@pytest.fixture(scope="session")
def photos():
    return real_photos()


@pytest.fixture(scope="session")
def records(tmp_path_factory, photos):
    """Records made by the real preprocess pipeline from the six sample photos (and their mirror images)."""
    return mirrored_records(photos, tmp_path_factory.mktemp("train_photos"), tmp_path_factory.mktemp("train_records"),
                            "--image-size", str(RECORD_SIZE), "--inception-weights", "random",
                            "--val-fraction", "0.25")
