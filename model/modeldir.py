"""A model directory: `model.keras` plus its `model.json` card. All a later stage needs.

Loading always uses Keras' safe mode: a model file cannot run arbitrary code.
"""
import json
import os
import shutil
import tempfile
import zipfile
from typing import TYPE_CHECKING, Any

from basics.errors import ModelError
from tfrecords import contract as c
from basics import remote
from basics.paths import is_remote

if TYPE_CHECKING:  # for annotations only: the backend loads when a model is built
    import keras

MODEL_FILE = "model.keras"
CARD_FILE = "model.json"
DEFAULT_MODEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "default")


def read_card(model_dir: str) -> Any:
    path = os.path.join(model_dir, CARD_FILE)
    try:
        if is_remote(model_dir):
            return json.loads(remote.read_bytes(path))
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ModelError(f"{model_dir} is not a model directory: it has no {CARD_FILE}") from None
    except NotADirectoryError:
        raise ModelError(f"{model_dir} is a file, not a model directory (a folder with {MODEL_FILE} and "
                         f"{CARD_FILE}): pass the folder") from None
    except json.JSONDecodeError as e:
        raise ModelError(f"{path} is not valid JSON ({e.msg}, line {e.lineno}): is it a model card?") from None
    except UnicodeDecodeError:
        raise ModelError(f"{path} is not a text file: is it a model card?") from None


def check_card(card: Any, model_dir: str) -> dict:
    """The card's fields every stage relies on."""
    if not isinstance(card, dict):
        raise ModelError(f"{model_dir}/{CARD_FILE} is not a model card (a JSON object)")
    missing = [k for k in ("architecture", "image_size") if k not in card]
    if missing:
        raise ModelError(f"{model_dir}/{CARD_FILE} lacks {', '.join(missing)}: is it a model card?")
    return card


def write_card(model_dir: str, card: dict) -> None:
    with open(os.path.join(model_dir, CARD_FILE), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")


def embedding_of(card: dict) -> c.EmbeddingSpec:
    return c.EmbeddingSpec.from_dict(card.get("embedding"))


def load_keras(path: str, compile: bool = False) -> "keras.Model":
    import keras
    # These register their layers (ImageNetGrey, AnnealedMean) and loss for safe-mode loading.
    from model import networks, quantized  # noqa: F401
    # Keras reports a corrupt or truncated .keras file as "File not found": check the zip first.
    try:
        with zipfile.ZipFile(path) as z:
            broken = z.testzip()
    except (zipfile.BadZipFile, OSError) as e:
        raise ModelError(f"{path} is not a readable Keras model file (corrupt or truncated: {e})") from None
    if broken:
        raise ModelError(f"{path} is corrupt: its part {broken} fails its checksum")
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (OSError, ValueError, TypeError, KeyError) as e:
        text = str(e)
        if "arbitrary code" in text or "safe_mode" in text:
            raise ModelError(f"refused to load {path}: it holds Python code (such as a Lambda layer), which safe "
                             "mode never runs; rebuild the model from keras layers") from None
        raise ModelError(f"cannot load {path}: {text.splitlines()[0] if text else type(e).__name__}") from None


def load(model_dir: str | None) -> tuple["keras.Model", dict]:
    """(keras model, card) from a local or gs:// model directory."""
    model_dir = model_dir or DEFAULT_MODEL_DIR
    card = check_card(read_card(model_dir), model_dir)
    path = os.path.join(model_dir, MODEL_FILE)
    if is_remote(model_dir):  # Keras reads local files: copy the model down first
        tmp = tempfile.mkdtemp(prefix="colorize-model-")
        local = os.path.join(tmp, MODEL_FILE)
        try:
            remote.copy_to(path, local)
        except FileNotFoundError:
            raise ModelError(f"{model_dir} has no {MODEL_FILE}") from None
        try:
            return load_keras(local), card
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if not os.path.exists(path):
        raise ModelError(f"{model_dir} has no {MODEL_FILE}")
    # The last model loaded stays for a second load of the same file in this process: a small job that runs
    # in the launcher's process (pipeline.colorize.runs_in_process) then loads its model once, not twice.
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_mtime_ns, st.st_size)
    if _last_loaded.get("key") != key:
        _last_loaded.clear()
        _last_loaded.update(key=key, model=load_keras(path))
    return _last_loaded["model"], card


_last_loaded: dict = {}
