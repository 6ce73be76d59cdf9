"""Training: alpha on one photo, or beta / fusion on the records of `colorize preprocess`.

Keras fit with MSE on ab scaled to [-1, 1] (the regression loss of Wallner and Deep Koalarization),
MAE, or classification: a distribution over quantized ab with a class-rebalanced cross-entropy and
annealed-mean decoding (Zhang et al. 2016), because L2 regression averages plausible colours into
grey-brown. Adam. Every device found is used (model/devices.py); the input pipelines are in
model/training_data.py, checkpoints and resume in model/checkpoints.py. A run ends the same way for
every model: model.keras from the chosen checkpoint, its metrics, and the model.json card.
"""
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from model import checkpoints, evaluate, inference, modeldir, networks, quantized, semantic
from model.checkpoints import BEST, HISTORY, LAST, STATE
from model.choices import Recipe
from model.devices import backend, distribution_scope
from basics.errors import ModelError
from model.training_data import datasets
from tfrecords import contract as c
from tfrecords import records
from basics import view
from basics.photos import decode_rgb

log = logging.getLogger("colorize")
REBALANCE_SAMPLE = 1000  # training records whose colours set the classification loss's weights
CARD_EVAL_LIMIT = 1000  # records the card's metrics are computed on
EMA_MOMENTUM = 0.999  # averages about the last 1000 steps
ALPHA_SAVE_EVERY = 100  # alpha epochs are one step each: checkpoint every 100


def compiled_model(recipe: Recipe, size: int, embedding_dim: int | None, bin_weights: np.ndarray | None = None,
                   steps_per_epoch: int | None = None) -> keras.Model:
    """The recipe's network, compiled with its loss and Adam (with EMA weights if asked)."""
    model = networks.build(recipe.architecture, size, embedding_dim, recipe.head, recipe.skips, recipe.decoder_width,
                           recipe.context, recipe.encoder, recipe.encoder_training, hints=recipe.hints)
    loss = quantized.SoftEncodedCrossEntropy(bin_weights) if recipe.loss == "classification" else recipe.loss
    optimizer = keras.optimizers.Adam(learning_rate_of(recipe, steps_per_epoch), use_ema=recipe.ema,
                                      ema_momentum=EMA_MOMENTUM)
    model.compile(optimizer=optimizer, loss=loss)
    return model


def learning_rate_of(recipe: Recipe, steps_per_epoch: int | None) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Adam's learning rate: constant, or a cosine decay to 0 over every step of the run, which the optimizer's
    step count carries through --resume."""
    if recipe.lr_schedule == "constant":
        return recipe.learning_rate
    return keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=recipe.epochs * steps_per_epoch)


def bin_weights(recipe: Recipe, data_dir: str, info: dict) -> np.ndarray:
    """The classification loss's rebalancing weights, from the colours of up to REBALANCE_SAMPLE records."""
    ab = np.concatenate([b["ab"] for b in records.batches(data_dir, "train", 256, info=info,
                                                                   limit=REBALANCE_SAMPLE)])
    return quantized.rebalancing_weights(ab, mix=recipe.rebalance)


def steps_per_epoch(train: Any) -> int | None:
    """Batches an epoch of a training input: ArrayBatches knows its length, a tf.data pipeline its cardinality."""
    if hasattr(train, "cardinality"):
        n = int(train.cardinality())
        if n < 0:
            raise ModelError("the training input does not know its length; a cosine schedule needs it")
        return n
    return len(train)


class StopBefore(keras.callbacks.Callback):
    """Ends training after an epoch when another as long as the last would end past `deadline`
    (time.time()); after the first epoch, only when the deadline has passed. The epoch is checkpointed as
    every epoch is, so --resume continues the run."""

    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._first = True

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._began = time.time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        # A run's (or a resumed run's) first epoch includes compiling the training step (on a GPU, seven
        # EfficientNet runs compiling at once took 200 s of it, their later epochs 4 s): it predicts nothing,
        # so it stops training only when the deadline has already passed.
        now = time.time()
        took = now - self._began
        first, self._first = self._first, False
        if now > self.deadline or (not first and now + took > self.deadline):
            log.warning("stopping after epoch %d: another would end past the deadline", epoch + 1)
            self.model.stop_training = True


def fit(recipe: Recipe, out: str, resume: bool, model_fields: dict, train: Any, val: Any,
        weights: np.ndarray | None = None, stop_before: float | None = None,
        part_bytes: int | None = None) -> tuple[dict, int]:
    """Builds or resumes the model and fits it; returns (history dict, epochs done).
    stop_before: a time.time() that no epoch should end after (StopBefore); None: every epoch.
    part_bytes: keep last.keras in parts of at most this many bytes too (checkpoints.write_parts)."""
    os.makedirs(out, exist_ok=True)
    start_epoch = checkpoints.resume_point(out, model_fields) if resume else 0
    with distribution_scope():
        if start_epoch:
            model = modeldir.load_keras(os.path.join(out, LAST), compile=True)
            log.info("resuming %s at epoch %d of %d", out, start_epoch, recipe.epochs)
        else:
            model = compiled_model(recipe, model_fields["image_size"], (model_fields["embedding"] or {}).get("dim"),
                                   weights() if weights else None, steps_per_epoch=steps_per_epoch(train))
    if start_epoch >= recipe.epochs:
        return {}, start_epoch
    monitor = "val_loss" if val is not None else "loss"
    log.info("checkpoints go to %s: %s (best %s) and %s with %s (every epoch, for --resume); history in %s",
             out, BEST, monitor, LAST, STATE, HISTORY)
    cbs = checkpoints.callbacks(out, monitor, resume, model_fields, recipe.ema, part_bytes)
    cbs += [StopBefore(stop_before)] if stop_before else []
    history = model.fit(train, validation_data=val, epochs=recipe.epochs, initial_epoch=start_epoch, callbacks=cbs,
                        verbose=1 if sys.stdout.isatty() else 2)  # a bar on a terminal, a line an epoch in logs
    return history.history, start_epoch + len(next(iter(history.history.values()), []))


def finish(out: str, fields: dict, final: keras.Model, data: dict, training: dict, metrics: dict) -> int:
    """Every run's ending: the model.json card beside model.keras, and one line saying what was written."""
    modeldir.write_card(out, {**fields, "parameters": int(final.count_params()), "data": data,
                              "training": {**training, "backend": backend()}, "metrics": metrics})
    m, b = metrics["model"]["auc"], metrics["grayscale_baseline"]["auc"]
    print(f"wrote {out}: {fields['architecture']}, {training['epochs']} epochs; {metrics['split']}: "
          f"AuC {m:.2f} (grayscale {b:.2f})")
    return 0


def encoder_fields(recipe: Recipe) -> dict | None:
    """The card's "encoder" entry: None for beta's own encoder, else the pretrained one's identity, the hash of
    its starting weights and how it was trained (the package must be installed: its weights start the run)."""
    if recipe.encoder == networks.SCRATCH:
        return None
    from model import efficientnet
    return {**efficientnet.card_entry(recipe.encoder), "training": recipe.encoder_training}


def training_card(recipe: Recipe, epochs: int, checkpoint: str, seconds: float, history: dict) -> dict:
    """The card's "training" entry of a beta / fusion run: the recipe as run."""
    return {"epochs": epochs, "batch_size": recipe.batch_size, "learning_rate": recipe.learning_rate,
            "lr_schedule": recipe.lr_schedule, "ema": recipe.ema, "augment": recipe.augment,
            "vividness": recipe.vividness, "skips": recipe.skips, "decoder_width": recipe.decoder_width,
            "context": recipe.context, "encoder": recipe.encoder, "encoder_training": recipe.encoder_training,
            "hints": recipe.hints,
            "loss": recipe.loss_description(quantized.NUM_BINS), "optimizer": "adam",
            "seed": recipe.seed, "checkpoint": checkpoint, "seconds_this_run": round(seconds, 1),
            "final_history": {k: float(v[-1]) for k, v in history.items()}}


def model_fields(recipe: Recipe, image_size: int, embedding: dict | None) -> dict:
    """What the card says of the network a recipe builds (modeldir.check_card reads it back)."""
    return {"architecture": recipe.architecture, "image_size": image_size, "embedding": embedding, "head": recipe.head,
            "encoder": encoder_fields(recipe), "hints": recipe.hints}


def train_network(recipe: Recipe, out: str, fields: dict, train: Any, val: Any, weights: np.ndarray | None, data: dict,
                  score: Callable[[keras.Model], dict], resume: bool = False, stop_before: float | None = None,
                  part_bytes: int | None = None) -> keras.Model:
    """The one training path of beta and fusion, whatever feeds it (records here, a benchmark's arrays in
    bench/train_sweep.py):

        fit or resume (checkpoints every epoch) -> model.keras from the best checkpoint, decoded at the recipe's
        temperature and vividness -> score(model): its metrics -> model.json, the card

    weights: None, or a function giving the classification loss's rebalancing weights (called only for a new
    run); score: the model -> the metrics dict the card holds; stop_before, part_bytes: see fit. Returns the
    written model."""
    start = time.time()
    history, epochs = fit(recipe, out, resume, fields, train, val, weights, stop_before, part_bytes)
    has_best = val is not None and os.path.exists(os.path.join(out, BEST))
    final = checkpoints.save_final(out, os.path.join(out, BEST if has_best else LAST),
                                   recipe.temperature if recipe.loss == "classification" else None,
                                   recipe.vividness)
    seconds = time.time() - start
    metrics = score(final)
    finish(out, fields, final, data=data,
           training=training_card(recipe, epochs, BEST if has_best else LAST, seconds, history),
           metrics={k: v for k, v in metrics.items() if not k.startswith("_")})
    return final


def train_on_records(recipe: Recipe, data_dir: str, out: str, resume: bool = False,
                     part_bytes: int | None = None) -> int:
    """`colorize train --architecture beta|fusion`: the records of `colorize preprocess` -> a model directory."""
    info = c.read_dataset_json(data_dir)
    embedding = info.get("embedding") if recipe.architecture == "fusion" else None
    if recipe.architecture == "fusion" and not embedding:
        raise ModelError(f"{data_dir} has no embeddings; the fusion model needs them (or use --architecture beta)")
    keras.utils.set_random_seed(recipe.seed)
    fields = model_fields(recipe, info["image_size"], embedding)
    train, val = datasets(data_dir, info, recipe.batch_size, recipe.architecture == "fusion", recipe.seed, recipe.augment,
                          recipe.hints)
    weights = (lambda: bin_weights(recipe, data_dir, info)) if recipe.loss == "classification" else None

    def score(final: keras.Model) -> dict:
        judge, why_not = semantic.judge_for(fields)  # the semantic test too, where its judge is installed
        metrics = evaluate.on_records(final, fields, data_dir, "val" if val is not None else "train", info,
                                      limit=CARD_EVAL_LIMIT, judge=judge)
        return {**metrics, "semantic_skipped": why_not} if why_not else metrics
    train_network(recipe, out, fields, train, val, weights,
                  data={"dir": data_dir, "inputs": info.get("inputs"), "counts": info["counts"],
                        "image_size": info["image_size"]}, score=score, resume=resume, part_bytes=part_bytes)
    return 0


def train_alpha(recipe: Recipe, image: str, out: str, image_size: int, resume: bool = False) -> int:
    """Part 1: learns ONE photo's colours, then writes its colorization beside the model."""
    from PIL import Image
    keras.utils.set_random_seed(recipe.seed)
    with open(image, "rb") as f:
        rgb = decode_rgb(f.read())
    lab = view.whole_photo_lab(rgb, image_size)
    x, y = c.scale_l(lab[..., :1])[None], c.scale_ab(lab[..., 1:])[None]
    fields = {"architecture": "alpha", "image_size": image_size, "embedding": None, "head": "regression"}
    os.makedirs(out, exist_ok=True)
    start_epoch = checkpoints.resume_point(out, fields) if resume else 0
    model = (modeldir.load_keras(os.path.join(out, LAST), compile=True) if start_epoch
             else compiled_model(recipe, image_size, None))
    cbs = [checkpoints.SaveLast(out, fields, every=ALPHA_SAVE_EVERY),
           keras.callbacks.CSVLogger(os.path.join(out, HISTORY), append=resume)]
    model.fit(x, y, batch_size=1, epochs=recipe.epochs, initial_epoch=start_epoch, callbacks=cbs, verbose=0)
    final = checkpoints.save_final(out, os.path.join(out, LAST))
    colour = inference.colorize_pixels(final, rgb, image_size)
    Image.fromarray(colour).save(os.path.join(out, "colorized.png"))
    print(f"wrote {os.path.join(out, 'colorized.png')}")
    return finish(out, fields, final, data={"image": os.path.abspath(image)},
                  training={"epochs": recipe.epochs, "learning_rate": recipe.learning_rate, "seed": recipe.seed,
                            "loss": recipe.loss_description(quantized.NUM_BINS), "optimizer": "adam"},
                  metrics={"split": "the training photo, full resolution", **evaluate.photo_metrics(colour, rgb)})
