"""Checkpoints of a training run: best.keras (best validation loss), last.keras with its optimizer state
and train_state.json (written under temporary names and renamed, so a kill at any moment leaves a
consistent pair for --resume), history.csv, TensorBoard logs; and model.keras, the final model.

A run that must outlive its machine keeps last.keras in parts too (`colorize train --checkpoint-parts MB`):

    last.keras --split--> last.keras.part000, .part001, ... + last.keras.parts.json (each part's size and SHA-256,
                          the whole file's; written last, so it only ever names parts that are complete)
    parts + train_state.json + history.csv, carried to another machine --join (checked)--> last.keras --> --resume
"""
import csv
import hashlib
import json
import os

import keras

from model import modeldir, quantized
from model.devices import backend
from basics.errors import ModelError

BEST, LAST, STATE, HISTORY = "best.keras", "last.keras", "train_state.json", "history.csv"
PARTS = LAST + ".parts.json"  # the manifest of last.keras in parts


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_parts(out: str, part_bytes: int, epoch: int) -> list[str]:
    """Splits out/last.keras (the checkpoint of `epoch` epochs) into parts of at most part_bytes beside it, each
    written under a temporary name and renamed, then the manifest; parts an earlier, larger checkpoint left
    beyond the new count are removed. Returns the parts' names."""
    with open(os.path.join(out, LAST), "rb") as f:
        data = f.read()
    parts = []
    for i, start in enumerate(range(0, len(data), part_bytes)):
        chunk, name = data[start:start + part_bytes], f"{LAST}.part{i:03d}"
        with open(os.path.join(out, name + ".tmp"), "wb") as f:
            f.write(chunk)
        os.replace(os.path.join(out, name + ".tmp"), os.path.join(out, name))
        parts.append({"name": name, "size": len(chunk), "sha256": _sha256(chunk)})
    manifest = {"file": LAST, "epoch": epoch, "size": len(data), "sha256": _sha256(data), "parts": parts}
    with open(os.path.join(out, PARTS + ".tmp"), "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(os.path.join(out, PARTS + ".tmp"), os.path.join(out, PARTS))
    names = {p["name"] for p in parts}
    for stale in os.listdir(out):
        if stale.startswith(LAST + ".part") and stale != PARTS and stale not in names:
            os.remove(os.path.join(out, stale))
    return sorted(names)


def join_parts(out: str) -> None:
    """out/last.keras from the parts its manifest names, every part and the whole checked against their
    SHA-256: a part missing, cut short or from another checkpoint is a one-line error, never a resumed run
    from wrong weights."""
    with open(os.path.join(out, PARTS)) as f:
        manifest = json.load(f)
    chunks = []
    for p in manifest["parts"]:
        path = os.path.join(out, os.path.basename(p["name"]))
        if not os.path.exists(path):
            raise ModelError(f"cannot resume {out}: {p['name']} is missing ({len(manifest['parts'])} parts "
                             f"of {LAST} are listed in {PARTS})")
        with open(path, "rb") as f:
            chunk = f.read()
        if len(chunk) != p["size"] or _sha256(chunk) != p["sha256"]:
            raise ModelError(f"cannot resume {out}: {p['name']} is not the part {PARTS} lists "
                             f"({len(chunk)} bytes, {p['size']} expected, or another SHA-256)")
        chunks.append(chunk)
    data = b"".join(chunks)
    if _sha256(data) != manifest["sha256"]:
        raise ModelError(f"cannot resume {out}: its parts join into another file than {PARTS} describes")
    with open(os.path.join(out, LAST + ".tmp"), "wb") as f:
        f.write(data)
    os.replace(os.path.join(out, LAST + ".tmp"), os.path.join(out, LAST))


def history_column(out: str, monitor: str) -> list[float]:
    """Every epoch's `monitor` value in out/history.csv (resumed runs' earlier epochs too); [] if none."""
    path = os.path.join(out, HISTORY)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [float(r[monitor]) for r in csv.DictReader(f) if r.get(monitor)]


def _best_so_far(out, monitor):
    values = history_column(out, monitor)
    return min(values) if values else None


class SaveLast(keras.callbacks.Callback):
    """Saves last.keras (with optimizer state), then the epoch it holds, every `every` epochs.

    With commit_later, the epoch end only writes last.tmp.keras; CommitLast, the run's last callback,
    then renames it and advances the state, so a kill at any moment leaves a state whose epochs all
    have their history row and best.keras decided."""

    def __init__(self, out, extra, every=1, commit_later=False, part_bytes=None):
        super().__init__()
        self.out, self.extra, self.every, self.commit_later = out, extra, every, commit_later
        self.part_bytes = part_bytes  # also keep last.keras in parts of at most this many bytes
        self.pending = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every and epoch + 1 != self.params.get("epochs"):
            return
        self.model.save(os.path.join(self.out, "last.tmp.keras"))
        self.pending = epoch
        if not self.commit_later:
            self.commit(epoch)

    def commit(self, epoch: int) -> None:
        if self.pending != epoch:
            return
        os.replace(os.path.join(self.out, "last.tmp.keras"), os.path.join(self.out, LAST))
        if self.part_bytes:  # the parts before the state that names their epoch
            write_parts(self.out, self.part_bytes, epoch + 1)
        with open(os.path.join(self.out, STATE + ".tmp"), "w") as f:
            json.dump({**self.extra, "epoch": epoch + 1}, f)
        os.replace(os.path.join(self.out, STATE + ".tmp"), os.path.join(self.out, STATE))
        self.pending = None


class CommitLast(keras.callbacks.Callback):
    def __init__(self, save_last):
        super().__init__()
        self.save_last = save_last

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.save_last.commit(epoch)


def callbacks(out: str, monitor: str, resume: bool, state_extra: dict, ema: bool = False,
              part_bytes: int | None = None) -> list[keras.callbacks.Callback]:
    """Checkpoints, history and logs. With EMA weights, validation and best.keras use the averaged
    weights, while last.keras (saved first) keeps the raw ones and the optimizer their average; the
    epoch it holds is committed last of all. part_bytes: last.keras in parts too (write_parts)."""
    save_last = SaveLast(out, state_extra, commit_later=True, part_bytes=part_bytes)
    cbs = [save_last]
    if ema:
        cbs.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    cbs += [
        keras.callbacks.ModelCheckpoint(os.path.join(out, BEST), monitor=monitor, save_best_only=True,
                                        initial_value_threshold=_best_so_far(out, monitor)
                                        if resume else None),
        keras.callbacks.CSVLogger(os.path.join(out, HISTORY), append=resume),
    ]
    if backend() == "tensorflow":
        cbs.append(keras.callbacks.TensorBoard(os.path.join(out, "logs")))
    cbs.append(CommitLast(save_last))
    return cbs


def resume_point(out: str, card_fields: dict) -> int:
    """The epoch a run in `out` resumes at, once its state fits the new run's network; last.keras is joined
    from its parts first where only they came (a run carried from another machine)."""
    state_path = os.path.join(out, STATE)
    has_parts = os.path.exists(os.path.join(out, PARTS))
    if not (os.path.exists(state_path) and (os.path.exists(os.path.join(out, LAST)) or has_parts)):
        raise ModelError(f"nothing to resume in {out}: no {LAST} (or its parts) / {STATE} (train without --resume)")
    with open(state_path) as f:
        state = json.load(f)
    if has_parts:
        with open(os.path.join(out, PARTS)) as f:
            manifest = json.load(f)
        here = os.path.join(out, LAST)
        whole = None
        if os.path.exists(here):
            with open(here, "rb") as f:
                whole = _sha256(f.read())
        # The parts are the checkpoint to resume when they hold the epoch the state names and last.keras is not
        # the same file (parts carried from the machine that trained); parts of another epoch are stale.
        if manifest.get("epoch") == state.get("epoch") and whole != manifest["sha256"]:
            join_parts(out)
        elif whole is None:
            raise ModelError(f"cannot resume {out}: its {LAST} parts hold epoch {manifest.get('epoch')}, "
                             f"{STATE} says {state.get('epoch')}")
    defaults = {"head": "regression", "hints": False}  # what a state written before the key existed meant
    for key in ("architecture", "image_size", "embedding", "head", "hints"):
        if state.get(key, defaults.get(key)) != card_fields.get(key, defaults.get(key)):
            raise ModelError(f"cannot resume {out}: its {key} is {state.get(key)}, "
                             f"the new run's is {card_fields.get(key)}")
    return state["epoch"]


def save_final(out: str, model_path: str, temperature: float | None = None, vividness: float = 1.0) -> keras.Model:
    """model.keras: the chosen checkpoint's weights without optimizer state (smaller, inference only).

    A classification model gets its annealed-mean decoding (and its built-in vividness): model.keras
    predicts ab like any other."""
    trained = modeldir.load_keras(model_path)
    if temperature is not None:
        plain = quantized.inference_model(trained, temperature, vividness)
    else:
        plain = keras.models.clone_model(trained)
        plain.set_weights(trained.get_weights())
    plain.save(os.path.join(out, modeldir.MODEL_FILE))
    return plain
