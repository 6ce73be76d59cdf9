"""Checkpoints of a training run: best.keras (best validation loss), last.keras with its optimizer state
and train_state.json (written under temporary names and renamed, so a kill at any moment leaves a
consistent pair for --resume), history.csv, TensorBoard logs; and model.keras, the final model."""
import csv
import json
import os

import keras

from model import modeldir, quantized
from model.devices import backend
from basics.errors import ModelError

BEST, LAST, STATE, HISTORY = "best.keras", "last.keras", "train_state.json", "history.csv"


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

    def __init__(self, out, extra, every=1, commit_later=False):
        super().__init__()
        self.out, self.extra, self.every, self.commit_later = out, extra, every, commit_later
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


def callbacks(out: str, monitor: str, resume: bool, state_extra: dict, ema: bool = False) -> list[keras.callbacks.Callback]:
    """Checkpoints, history and logs. With EMA weights, validation and best.keras use the averaged
    weights, while last.keras (saved first) keeps the raw ones and the optimizer their average; the
    epoch it holds is committed last of all."""
    save_last = SaveLast(out, state_extra, commit_later=True)
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
    state_path = os.path.join(out, STATE)
    if not (os.path.exists(state_path) and os.path.exists(os.path.join(out, LAST))):
        raise ModelError(f"nothing to resume in {out}: no {LAST} / {STATE} (train without --resume)")
    with open(state_path) as f:
        state = json.load(f)
    for key in ("architecture", "image_size", "embedding", "head"):
        if state.get(key, "regression" if key == "head" else None) != card_fields.get(key):
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
