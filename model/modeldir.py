"""A model directory: `model.keras` plus its `model.json` card. All a later stage needs.

Loading always uses Keras' safe mode: a model file cannot run arbitrary code.
"""
import json
import os
import shutil
import tempfile

from model.networks import ModelError
from tfrecords import contract as c

MODEL_FILE = "model.keras"
CARD_FILE = "model.json"
DEFAULT_MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "default")


def _gfile():
    import tensorflow as tf
    return tf.io.gfile


def read_card(model_dir):
    path = os.path.join(model_dir, CARD_FILE)
    try:
        if "://" in model_dir:
            with _gfile().GFile(path) as f:
                return json.load(f)
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ModelError(f"{model_dir} is not a model directory: it has no {CARD_FILE}") from None
    except Exception as e:
        if "NotFound" in type(e).__name__:
            raise ModelError(f"{model_dir} is not a model directory: it has no {CARD_FILE}") from None
        raise


def write_card(model_dir, card):
    with open(os.path.join(model_dir, CARD_FILE), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")


def embedding_of(card):
    return c.EmbeddingSpec.from_dict(card.get("embedding"))


def load_keras(path, compile=False):
    import keras
    from model import quantized  # noqa: F401  registers its layer and loss for safe-mode loading
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load {path}: {str(e).splitlines()[0]}") from None


def load(model_dir):
    """(keras model, card) from a local or gs:// model directory."""
    model_dir = model_dir or DEFAULT_MODEL_DIR
    card = read_card(model_dir)
    path = os.path.join(model_dir, MODEL_FILE)
    if "://" in model_dir:  # Keras reads local files: copy the model down first
        tmp = tempfile.mkdtemp(prefix="colorize-model-")
        local = os.path.join(tmp, MODEL_FILE)
        _gfile().copy(path, local)
        try:
            return load_keras(local), card
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if not os.path.exists(path):
        raise ModelError(f"{model_dir} has no {MODEL_FILE}")
    return load_keras(path), card
