"""The data contract between stages: Lab scaling, record keys and encodings, embedding identity.

Every stage (preprocess, train, evaluate, run) reads these definitions; nothing else
redefines them. The record layout is pure bytes/ints/floats so it can be written by Beam
and read by tf.data or, without TensorFlow, by `tfrecords.records.read_arrays`.
"""
import dataclasses
import hashlib
import json

import numpy as np

from basics.errors import UserError, reason_of
from basics.paths import is_remote, wire
# The Lab scaling and quantization, the pixel limit and the network's view are part of the contract; they
# are defined with the colour maths, photos and view they belong to, below every stage.
from basics.lab import (AB_DIVISOR, AB_QUANT, L_QUANT, L_SCALE, dequantize_ab, dequantize_l,  # noqa: F401
                        model_ab_from_record, model_l_from_record, quantize_ab, quantize_l, scale_ab, scale_l,
                        unscale_ab, unscale_l)
from basics.photos import DEFAULT_MAX_PIXELS  # noqa: F401
from basics.view import INCEPTION_SIZE, MIN_SIDE  # noqa: F401

SCHEMA_VERSION = 1
DEFAULT_IMAGE_SIZE = 224

# Record keys.
KEY_L = "l"                    # bytes: uint8 [H, W], row-major
KEY_AB = "ab"                  # bytes: int8 [H, W, 2], row-major
KEY_HEIGHT = "height"          # int64
KEY_WIDTH = "width"            # int64
KEY_EMBEDDING = "embedding"    # float list [D] (absent when embeddings are off)
KEY_SOURCE = "source"          # bytes: utf-8 path (or tfds:NAME:SPLIT/INDEX) of the input

SPLITS = ("train", "val")
RECORD_SUFFIX = ".tfrecord.gz"
DATASET_JSON = "dataset.json"
FAILURES_JSONL = "failures.jsonl"

INCEPTION_OUTPUT = "softmax"   # the 1000-way ImageNet class probabilities, as Wallner used them
INCEPTION_DIM = 1000


@dataclasses.dataclass(frozen=True)
class EmbeddingSpec:
    """Which network made the embeddings; records and models must agree on all of it."""
    network: str            # "inception_resnet_v2"
    weights: str            # "imagenet", "random:SEED" or "file:NAME"
    weights_sha256: str     # hash of the weight tensors actually used
    output: str = INCEPTION_OUTPUT
    dim: int = INCEPTION_DIM
    input_size: int = INCEPTION_SIZE

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "EmbeddingSpec | None":
        return None if d is None else cls(**d)


class ContractError(UserError, ValueError):
    """Records, models or options that do not fit together."""


def check_same_embedding(expected: "EmbeddingSpec | None", found: "EmbeddingSpec | None", what: str) -> None:
    """Refuse to mix embeddings from different networks or weights."""
    if expected != found:
        def describe(spec: "EmbeddingSpec | None") -> str:
            return "none" if spec is None else f"{spec.network} {spec.weights} ({spec.weights_sha256[:12]})"
        raise ContractError(f"{what}: embedding {describe(found)} differs from the model's {describe(expected)}")


def weights_sha256(arrays: list) -> str:
    """A stable hash of a list of weight arrays."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a, np.float32))
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def split_of(key: str | bytes, val_fraction: float) -> str:
    """Deterministic train/val split from a hash of the key: a photo's path relative to its input folder."""
    raw = key if isinstance(key, bytes) else wire(key)  # names that are not UTF-8 too
    digest = hashlib.sha256(raw).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2.0**64 < val_fraction else "train"


def read_dataset_json(data_dir: str) -> dict:
    """dataset.json of a records folder; local paths directly, gs:// ones through Beam's FileSystems."""
    path = f"{data_dir.rstrip('/')}/{DATASET_JSON}"
    missing = ContractError(f"{data_dir} holds no {DATASET_JSON}: is it the --output of 'colorize preprocess'?")
    try:
        if not is_remote(data_dir):
            try:
                with open(path, "rb") as f:
                    info = json.loads(f.read())
            except FileNotFoundError:
                raise missing from None
        else:
            from basics import remote
            try:
                info = json.loads(remote.read_bytes(path))
            except FileNotFoundError:
                raise missing from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ContractError(f"{path} is not valid JSON ({reason_of(e)}): is it the --output of 'colorize "
                            "preprocess'?") from None
    if not isinstance(info, dict) or "image_size" not in info:
        raise ContractError(f"{path} does not describe records (no image_size): is it the --output of "
                            "'colorize preprocess'?")
    return info
