"""The data contract between the stages, and the readers of the records.

Below `model` and `pipeline`, above `basics` (colour maths, photos, the network's view, paths, remote I/O,
errors): `contract` (scaling, keys, embedding identity, the split), `records` (writer and readers).

`tfrecords.load(data_dir, split)` gives a tf.data.Dataset of dicts; `read_arrays` gives the same
data as NumPy arrays without TensorFlow (for training on other Keras backends).
"""
from typing import Any

from tfrecords.contract import (  # noqa: F401
    AB_DIVISOR, ContractError, DATASET_JSON, DEFAULT_IMAGE_SIZE, EmbeddingSpec, FAILURES_JSONL,
    L_SCALE, SCHEMA_VERSION, SPLITS)
from basics.lab import lab_to_rgb, lab_to_rgb_uint8, lightness, rgb_to_lab  # noqa: F401


def load(data_dir: str, split: str = "train", **kwargs: Any) -> Any:
    from tfrecords.records import load as _load
    return _load(data_dir, split, **kwargs)


def read_arrays(data_dir: str, split: str = "train", **kwargs: Any) -> dict:
    from tfrecords.records import read_arrays as _read_arrays
    return _read_arrays(data_dir, split, **kwargs)
