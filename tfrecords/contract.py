"""The data contract between stages: Lab scaling, record keys and encodings, embedding identity.

Every stage (preprocess, train, evaluate, run) reads these definitions; nothing else
redefines them. The record layout is pure bytes/ints/floats so it can be written by Beam
and read by tf.data or, without TensorFlow, by `tfrecords.records.read_arrays`.
"""
import dataclasses
import hashlib
import json

import numpy as np
from tfrecords.errors import UserError, reason_of

SCHEMA_VERSION = 1
DEFAULT_IMAGE_SIZE = 224
MIN_SIDE = 32  # preprocess skips images whose short side is smaller: upscaled thumbnails teach blur
DEFAULT_MAX_PIXELS = 200_000_000  # decompression-bomb limit; a 50-megapixel scan passes

# Scaling the models see. L in [0, 100] -> [-1, 1]; ab divided by a fixed 110, which holds the
# whole sRGB gamut (|a|, |b| <= 108 for sRGB colours) inside [-1, 1].
L_SCALE = 50.0
AB_DIVISOR = 110.0

# Quantization in records: L as uint8 (step 100/255, error <= 0.2 L units); ab as int8 of the
# scaled value * 127 (step 110/127 = 0.87 ab units, error <= 0.44 ab units).
L_QUANT = 255.0 / 100.0
AB_QUANT = 127.0

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

INCEPTION_SIZE = 299
INCEPTION_OUTPUT = "softmax"   # the 1000-way ImageNet class probabilities, as Wallner used them
INCEPTION_DIM = 1000


def scale_l(l):
    return np.asarray(l, np.float32) / L_SCALE - 1.0


def unscale_l(l_scaled):
    return (np.asarray(l_scaled, np.float32) + 1.0) * L_SCALE


def scale_ab(ab):
    return np.asarray(ab, np.float32) / AB_DIVISOR


def unscale_ab(ab_scaled):
    return np.asarray(ab_scaled, np.float32) * AB_DIVISOR


def quantize_l(l):
    return np.clip(np.round(np.asarray(l, np.float32) * L_QUANT), 0, 255).astype(np.uint8)


def dequantize_l(q):
    return np.asarray(q, np.float32) / L_QUANT


def quantize_ab(ab):
    return np.clip(np.round(scale_ab(ab) * AB_QUANT), -127, 127).astype(np.int8)


def dequantize_ab(q):
    return unscale_ab(np.asarray(q, np.float32) / AB_QUANT)


def model_l_from_record(q):
    """Record L (uint8 values, as float32) -> the model's scale [-1, 1]; NumPy arrays or TF tensors."""
    return q * (1.0 / (L_QUANT * L_SCALE)) - 1.0


def model_ab_from_record(q):
    """Record ab (int8 values, as float32) -> the model's scale [-1, 1]; NumPy arrays or TF tensors."""
    return q * (1.0 / AB_QUANT)


@dataclasses.dataclass(frozen=True)
class EmbeddingSpec:
    """Which network made the embeddings; records and models must agree on all of it."""
    network: str            # "inception_resnet_v2"
    weights: str            # "imagenet", "random:SEED" or "file:NAME"
    weights_sha256: str     # hash of the weight tensors actually used
    output: str = INCEPTION_OUTPUT
    dim: int = INCEPTION_DIM
    input_size: int = INCEPTION_SIZE

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        return None if d is None else cls(**d)


class ContractError(UserError, ValueError):
    """Records, models or options that do not fit together."""


def check_same_embedding(expected, found, what):
    """Refuse to mix embeddings from different networks or weights."""
    if expected != found:
        def describe(spec):
            return "none" if spec is None else f"{spec.network} {spec.weights} ({spec.weights_sha256[:12]})"
        raise ContractError(f"{what}: embedding {describe(found)} differs from the model's {describe(expected)}")


def weights_sha256(arrays):
    """A stable hash of a list of weight arrays."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a, np.float32))
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def split_of(key, val_fraction):
    """Deterministic train/val split from a hash of the key: a photo's path relative to its input folder."""
    raw = key if isinstance(key, bytes) else key.encode("utf-8", "surrogateescape")  # names that are not UTF-8 too
    digest = hashlib.sha256(raw).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2.0**64 < val_fraction else "train"


def read_dataset_json(data_dir):
    """dataset.json of a records folder; local paths directly, gs:// ones through Beam's FileSystems."""
    path = f"{data_dir.rstrip('/')}/{DATASET_JSON}"
    missing = ContractError(f"{data_dir} holds no {DATASET_JSON}: is it the --output of 'colorize preprocess'?")
    try:
        if "://" not in data_dir:
            try:
                with open(path, "rb") as f:
                    info = json.loads(f.read())
            except FileNotFoundError:
                raise missing from None
        else:
            from tfrecords import remote
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
