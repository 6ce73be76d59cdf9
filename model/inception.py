"""The whole-image embedding: Inception-ResNet-v2 on the black-and-white photo (Keras only; its Beam
RunInference handler is `pipeline.handlers`).

Weights are `imagenet` (Keras' own download and cache), `random[:SEED]` (seeded, for offline tests)
or a local weights file. The identity (source and a hash of the tensors) goes into dataset.json and
model.json so embeddings from different weights are never mixed.
"""
import os
from typing import TYPE_CHECKING

import numpy as np

from tfrecords import contract as c
from basics.errors import UserError

if TYPE_CHECKING:  # for annotations only: the backend loads when a model is built
    import keras

NETWORK = "inception_resnet_v2"
IMAGENET_FILE = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"
DEFAULT_RANDOM_SEED = 1234


class WeightsError(UserError):
    """Weights that cannot be had; str() says what to do."""


def keras_cache_path(filename: str = IMAGENET_FILE) -> str:
    base = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return os.path.join(base, "models", filename)


def _build(weights_arg):
    import keras
    kind, _, rest = weights_arg.partition(":")
    if kind == "random":
        seed = int(rest or DEFAULT_RANDOM_SEED)
        keras.utils.set_random_seed(seed)
        return keras.applications.InceptionResNetV2(weights=None), f"random:{seed}"
    if kind == "imagenet":
        try:
            return keras.applications.InceptionResNetV2(weights="imagenet"), "imagenet"
        except Exception as e:  # Keras raises a plain Exception for a failed download
            raise WeightsError(
                f"cannot get the ImageNet weights ({str(e).splitlines()[0][:120]}); Keras expects the file "
                f"{keras_cache_path()}: put it there, or pass --inception-weights FILE") from None
    path = weights_arg[5:] if kind == "file" else weights_arg
    if "://" in path:  # a file on gs:// (what Dataflow workers can reach): copy it down first
        path = _local_copy(path)
    if not os.path.exists(path):
        raise WeightsError(f"weights file {path} does not exist; pass imagenet, random or an existing file")
    try:
        model = keras.applications.InceptionResNetV2(weights=path)
    except Exception as e:
        raise WeightsError(f"cannot load Inception-ResNet-v2 weights from {path}: {e}") from None
    return model, f"file:{os.path.basename(path)}"


def _local_copy(remote):
    import tempfile
    from basics import remote as remote_files
    local = os.path.join(tempfile.mkdtemp(prefix="colorize-inception-"), os.path.basename(remote))
    try:
        remote_files.copy_to(remote, local)
    except FileNotFoundError:
        raise WeightsError(f"weights file {remote} does not exist; pass imagenet, random or an existing file") from None
    except OSError as e:
        raise WeightsError(f"cannot copy weights {remote}: {str(e).splitlines()[0]}") from None
    return local


def build_inception(weights_arg: str) -> tuple["keras.Model", c.EmbeddingSpec]:
    """(model, EmbeddingSpec) for `imagenet`, `random[:SEED]` or a weights file path."""
    model, source = _build(weights_arg)
    spec = c.EmbeddingSpec(network=NETWORK, weights=source,
                           weights_sha256=c.weights_sha256(model.get_weights()))
    return model, spec


def preprocess(grey_uint8: np.ndarray) -> np.ndarray:
    """uint8 [..., 299, 299, 3] -> Inception's [-1, 1] input."""
    return np.asarray(grey_uint8, np.float32) / 127.5 - 1.0
