"""`colorize train`: fits alpha on one photo, or beta / fusion on the records of `colorize preprocess`.

Keras fit with MSE on ab scaled to [-1, 1] (the regression loss of Wallner and Deep Koalarization),
`--loss mae`, or `--loss classification`: a distribution over quantized ab with a class-rebalanced
cross-entropy and annealed-mean decoding (Zhang et al. 2016), because L2 regression averages
plausible colours into grey-brown. Adam. Checkpoints the best and the last epoch; `--resume`
continues from the last epoch with its optimizer state. Uses every device it finds: a tf.distribute
strategy on the TensorFlow backend, keras.distribution.DataParallel on JAX.
"""
import argparse
import csv
import json
import logging
import os
import time

import numpy as np

from model import modeldir, networks, quantized
from model.networks import ModelError
from tfrecords.errors import positive_float, positive_int
from tfrecords import contract as c

log = logging.getLogger("colorize")
BEST, LAST, STATE, HISTORY = "best.keras", "last.keras", "train_state.json", "history.csv"
SHUFFLE_BUFFER = 2048
LOSSES = ("mse", "mae", "classification")
REBALANCE_SAMPLE = 1000  # training records whose colours set the classification loss's weights
CARD_EVAL_LIMIT = 1000  # records the card's metrics are computed on
ALPHA_SAVE_EVERY = 100  # alpha epochs are one step each: checkpoint every 100


def parse_args(argv):
    p = argparse.ArgumentParser(prog="colorize train", description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=networks.ARCHITECTURES, required=True)
    p.add_argument("--data", help="output folder of 'colorize preprocess' (beta, fusion)")
    p.add_argument("--image", help="the one photo alpha learns")
    p.add_argument("--output", required=True, help="model directory to write")
    p.add_argument("--epochs", type=positive_int, default=None, help="default: 1000 for alpha, 20 otherwise")
    p.add_argument("--batch-size", type=positive_int, default=16)
    p.add_argument("--learning-rate", type=positive_float, default=1e-3)
    p.add_argument("--loss", choices=LOSSES, default="mse",
                   help="mse (default, as the source projects), mae, or classification over quantized ab "
                        "(beta, fusion: vivid colours)")
    p.add_argument("--rebalance", type=float, default=None,
                   help="classification: lambda, the uniform share in the class rebalancing; 1 turns it off "
                        f"(default {quantized.REBALANCE_MIX})")
    p.add_argument("--temperature", type=float, default=None,
                   help="classification: annealed-mean temperature of the written model.keras "
                        f"(default {quantized.DEFAULT_TEMPERATURE}; 1 is the distribution's mean, towards 0 its mode)")
    p.add_argument("--image-size", type=int, default=c.DEFAULT_IMAGE_SIZE, help="alpha only; records fix it")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--resume", action="store_true", help="continue from the last completed epoch")
    args = p.parse_args(argv)
    if args.model == "alpha" and not args.image:
        p.error("--model alpha learns one photo: pass --image PHOTO")
    if args.model != "alpha" and not args.data:
        p.error(f"--model {args.model} trains on records: pass --data DIR")
    if args.model == "alpha" and args.loss == "classification":
        p.error("--loss classification is for beta and fusion; alpha regresses one photo's ab")
    if args.temperature is not None and (args.loss != "classification" or not 0 < args.temperature <= 1):
        p.error("--temperature goes with --loss classification and lies in (0, 1]")
    if args.rebalance is not None and (args.loss != "classification" or not 0 < args.rebalance <= 1):
        p.error("--rebalance goes with --loss classification and lies in (0, 1]")
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        p.error(f"--output {args.output} is a file; give a folder (it is made if missing)")
    args.epochs = args.epochs or (1000 if args.model == "alpha" else 20)
    return args


def backend():
    import keras
    return keras.backend.backend()


def training_devices():
    """The devices training runs on in sync: all GPUs, else all logical CPUs (TensorFlow) / all JAX devices."""
    if backend() == "tensorflow":
        import tensorflow as tf
        return tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    if backend() == "jax":
        import jax
        return jax.devices()
    return [None]


def distribution_scope():
    """A context that places the model on every device of training_devices()."""
    import contextlib
    devices = training_devices()
    if backend() == "tensorflow":
        import tensorflow as tf
        gpus = tf.config.list_logical_devices("GPU")
        if len(devices) > 1:
            strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
        elif gpus:
            strategy = tf.distribute.OneDeviceStrategy(gpus[0].name)
        else:
            strategy = tf.distribute.get_strategy()
        log.info("training on %d device(s): %s", strategy.num_replicas_in_sync, [d.name for d in devices])
        return strategy.scope()
    if backend() == "jax":
        import keras
        if len(devices) > 1:
            keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        log.info("training on %d device(s): %s", len(devices), devices)
    return contextlib.nullcontext()


def usable_count(count, batch_size, replicas, training):
    """How many records of a split an epoch reads, so that every device gets a share of every batch.

    Training reads full batches only (the remainder, a different one each epoch, waits for the next).
    A split smaller than a batch, and validation, keep a last short batch unless it is smaller than
    the device count (a device with an empty share stops the step): then those few are left out.
    """
    rest = count % batch_size
    if (training and count >= batch_size) or rest < replicas:
        return count - rest
    return count


# --- Input pipelines -------------------------------------------------------------------------

def _split_inputs(d, fusion):
    x = {"l": d["l"], "embedding": d["embedding"]} if fusion else d["l"]
    return x, d["ab"]


def tf_dataset(data_dir, split, info, batch_size, fusion, seed, training, replicas=1):
    """tfrecords.load -> shuffle -> random horizontal flip (L and ab alike) -> batch -> prefetch.

    Reads usable_count() records an epoch: full training batches, no device left with an empty share.
    """
    import tensorflow as tf
    import tfrecords
    ds = tfrecords.load(data_dir, split, info=info)
    keep = ("l", "ab", "embedding") if fusion else ("l", "ab")
    ds = ds.map(lambda d: {k: d[k] for k in keep}, num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        coins = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

        def flip(d, coin):
            do = tf.equal(coin % 2, 1)
            return {k: (tf.cond(do, lambda v=v: tf.reverse(v, [1]), lambda v=v: v) if k in ("l", "ab") else v)
                    for k, v in d.items()}
        ds = tf.data.Dataset.zip((ds, coins)).map(flip, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda d: _split_inputs(d, fusion), num_parallel_calls=tf.data.AUTOTUNE)
    count = info["counts"]["per_split"][split]
    usable = usable_count(count, batch_size, replicas, training)
    ds = ds.take(usable) if usable < count else ds
    return ds.batch(batch_size, drop_remainder=training and count >= batch_size).prefetch(tf.data.AUTOTUNE)


def array_dataset(data_dir, split, batch_size, fusion, seed, training, replicas=1):
    """The same input on backends without TensorFlow: records read in pure Python into memory."""
    import keras
    import tfrecords

    arrays = tfrecords.read_arrays(data_dir, split)

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0
            self.order = np.arange(len(arrays["l"]))
            self.usable = usable_count(len(self.order), batch_size, replicas, training)  # as tf_dataset
            self.on_epoch_end()

        def __len__(self):
            return int(np.ceil(self.usable / batch_size))

        def on_epoch_end(self):
            rng = np.random.default_rng(seed + self.epoch)
            self.epoch += 1
            if training:
                self.order = rng.permutation(len(arrays["l"]))
                self.flips = rng.random(len(arrays["l"])) < 0.5

        def __getitem__(self, i):
            idx = self.order[i * batch_size:min((i + 1) * batch_size, self.usable)]
            l, ab = arrays["l"][idx], arrays["ab"][idx]
            if training:
                f = self.flips[idx]
                l[f], ab[f] = l[f][:, :, ::-1], ab[f][:, :, ::-1]
            d = {"l": l, "ab": ab, "embedding": arrays.get("embedding", np.zeros((len(arrays["l"]), 0)))[idx]}
            return _split_inputs(d, fusion)

    return Batches()


def datasets(args, info, fusion):
    counts = info["counts"]["per_split"]
    replicas = len(training_devices())
    if args.batch_size < replicas:
        raise ModelError(f"--batch-size {args.batch_size} is smaller than the {replicas} devices training in sync: "
                         f"each needs a share of every batch (use --batch-size {replicas} or more)")
    if not counts.get("train"):
        raise c.ContractError(f"{args.data} has no training records")
    if counts["train"] < replicas:
        raise c.ContractError(f"{args.data} has {counts['train']} training records: "
                              f"too few for {replicas} devices training in sync")
    val_used = usable_count(counts.get("val", 0), args.batch_size, replicas, False)
    if val_used < counts.get("val", 0):
        log.warning("validation reads %d of its %d records: a last batch smaller than the %d devices is left out",
                    val_used, counts["val"], replicas)
    make = (lambda split, training: tf_dataset(args.data, split, info, args.batch_size, fusion, args.seed,
                                               training, replicas)) \
        if backend() == "tensorflow" else \
        (lambda split, training: array_dataset(args.data, split, args.batch_size, fusion, args.seed, training,
                                               replicas))
    return make("train", True), (make("val", False) if val_used else None)


# --- Checkpoints and resume ------------------------------------------------------------------

def _best_so_far(history_path, monitor):
    if not os.path.exists(history_path):
        return None
    with open(history_path) as f:
        values = [float(r[monitor]) for r in csv.DictReader(f) if r.get(monitor)]
    return min(values) if values else None


def save_last(out, extra, every=1):
    """A callback saving last.keras (with optimizer state), then the epoch it holds, every N epochs.

    Both are written under temporary names and renamed, so a run killed at any moment leaves a
    consistent pair for --resume.
    """
    import keras

    class SaveLast(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % every and epoch + 1 != self.params.get("epochs"):
                return
            tmp_model = os.path.join(out, "last.tmp.keras")
            self.model.save(tmp_model)
            os.replace(tmp_model, os.path.join(out, LAST))
            with open(os.path.join(out, STATE + ".tmp"), "w") as f:
                json.dump({**extra, "epoch": epoch + 1}, f)
            os.replace(os.path.join(out, STATE + ".tmp"), os.path.join(out, STATE))
    return SaveLast()


def callbacks(out, monitor, resume, state_extra):
    import keras
    cbs = [
        keras.callbacks.ModelCheckpoint(os.path.join(out, BEST), monitor=monitor, save_best_only=True,
                                        initial_value_threshold=_best_so_far(os.path.join(out, HISTORY), monitor)
                                        if resume else None),
        save_last(out, state_extra),
        keras.callbacks.CSVLogger(os.path.join(out, HISTORY), append=resume),
    ]
    if backend() == "tensorflow":
        cbs.append(keras.callbacks.TensorBoard(os.path.join(out, "logs")))
    return cbs


def head_of(args):
    return "classification" if args.loss == "classification" else "regression"


def loss_description(args):
    if args.loss == "classification":
        return (f"soft-encoded cross-entropy over {quantized.NUM_BINS} ab bins, class-rebalanced "
                f"(lambda {rebalance(args)}); annealed mean T={temperature(args)}")
    return f"{args.loss} on ab / 110"


def temperature(args):
    return quantized.DEFAULT_TEMPERATURE if args.temperature is None else args.temperature


def rebalance(args):
    return quantized.REBALANCE_MIX if args.rebalance is None else args.rebalance


def compiled_model(args, size, embedding_dim, bin_weights=None):
    import keras
    model = networks.build(args.model, size, embedding_dim, head_of(args))
    loss = quantized.SoftEncodedCrossEntropy(bin_weights) if args.loss == "classification" else args.loss
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss=loss)
    return model


def bin_weights(args, info):
    """The classification loss's rebalancing weights, from the colours of up to REBALANCE_SAMPLE records."""
    import tfrecords
    if backend() == "tensorflow":  # tf.data reads gs:// too
        ds = tfrecords.load(args.data, "train", info=info).take(REBALANCE_SAMPLE)
        ab = np.stack([d["ab"] for d in ds.as_numpy_iterator()])
    else:
        ab = tfrecords.read_arrays(args.data, "train", limit=REBALANCE_SAMPLE)["ab"]
    return quantized.rebalancing_weights(ab, mix=rebalance(args))


def resume_point(out, card_fields):
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


def fit(args, model_fields, train, val, info=None):
    """Builds or resumes the model and fits it; returns (model, history dict, epochs done)."""
    os.makedirs(args.output, exist_ok=True)
    start_epoch = resume_point(args.output, model_fields) if args.resume else 0
    with distribution_scope():
        if start_epoch:
            model = modeldir.load_keras(os.path.join(args.output, LAST), compile=True)
            log.info("resuming %s at epoch %d of %d", args.output, start_epoch, args.epochs)
        else:
            model = compiled_model(args, model_fields["image_size"], (model_fields["embedding"] or {}).get("dim"),
                                   bin_weights(args, info) if args.loss == "classification" else None)
    if start_epoch >= args.epochs:
        return model, {}, start_epoch
    monitor = "val_loss" if val is not None else "loss"
    history = model.fit(train, validation_data=val, epochs=args.epochs, initial_epoch=start_epoch,
                        callbacks=callbacks(args.output, monitor, args.resume, model_fields), verbose=2)
    return model, history.history, args.epochs


def save_final(out, model_path, temperature=None):
    """model.keras: the chosen checkpoint's weights without optimizer state (smaller, inference only).

    A classification model gets its annealed-mean decoding: model.keras predicts ab like any other."""
    import keras
    trained = modeldir.load_keras(model_path)
    if temperature is not None:
        plain = quantized.inference_model(trained, temperature)
    else:
        plain = keras.models.clone_model(trained)
        plain.set_weights(trained.get_weights())
    plain.save(os.path.join(out, modeldir.MODEL_FILE))
    return plain


# --- Entry points ----------------------------------------------------------------------------

def train_on_records(args):
    info = c.read_dataset_json(args.data)
    embedding = info.get("embedding") if args.model == "fusion" else None
    if args.model == "fusion" and not embedding:
        raise ModelError(f"{args.data} has no embeddings; the fusion model needs them (or use --model beta)")
    import keras
    keras.utils.set_random_seed(args.seed)
    fields = {"architecture": args.model, "image_size": info["image_size"], "embedding": embedding,
              "head": head_of(args)}
    train, val = datasets(args, info, args.model == "fusion")
    start = time.time()
    model, history, epochs = fit(args, fields, train, val, info)
    has_best = val is not None and os.path.exists(os.path.join(args.output, BEST))
    final = save_final(args.output, os.path.join(args.output, BEST if has_best else LAST),
                       temperature(args) if args.loss == "classification" else None)
    from model import evaluate
    metrics = evaluate.on_records(final, fields, args.data, "val" if val is not None else "train", info,
                                  limit=CARD_EVAL_LIMIT)
    metrics = {k: v for k, v in metrics.items() if not k.startswith("_")}
    card = {
        **fields,
        "parameters": int(final.count_params()),
        "data": {"dir": args.data, "inputs": info.get("inputs"), "counts": info["counts"],
                 "image_size": info["image_size"]},
        "training": {"epochs": epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
                     "loss": loss_description(args), "optimizer": "adam", "seed": args.seed,
                     "checkpoint": BEST if has_best else LAST, "backend": backend(),
                     "seconds_this_run": round(time.time() - start, 1),
                     "final_history": {k: float(v[-1]) for k, v in history.items()}},
        "metrics": metrics,
    }
    modeldir.write_card(args.output, card)
    print(f"wrote {args.output}: {args.model}, {epochs} epochs; {metrics['split']} AuC "
          f"{metrics['model']['auc']:.2f} (grayscale {metrics['grayscale_baseline']['auc']:.2f})")
    return 0


def train_alpha(args):
    """Part 1: learns ONE photo's colours, then writes its colorization beside the model."""
    import keras
    from PIL import Image
    from model import evaluate, inference
    from pipeline import images
    keras.utils.set_random_seed(args.seed)
    with open(args.image, "rb") as f:
        rgb = images.decode_rgb(f.read())
    square = np.asarray(Image.fromarray(rgb).resize((args.image_size,) * 2, Image.LANCZOS))
    from tfrecords.lab import rgb_to_lab
    lab = rgb_to_lab(square)
    x, y = c.scale_l(lab[..., :1])[None], c.scale_ab(lab[..., 1:])[None]
    fields = {"architecture": "alpha", "image_size": args.image_size, "embedding": None, "head": "regression"}
    model, history, epochs = _fit_alpha(args, fields, x, y)
    final = save_final(args.output, os.path.join(args.output, LAST))
    colour = inference.colorize_pixels(final, rgb, args.image_size)
    out_png = os.path.join(args.output, "colorized.png")
    Image.fromarray(colour).save(out_png)
    metrics = evaluate.photo_metrics(colour, rgb)
    card = {**fields, "parameters": int(final.count_params()),
            "data": {"image": os.path.abspath(args.image)},
            "training": {"epochs": epochs, "learning_rate": args.learning_rate, "seed": args.seed,
                         "loss": f"{args.loss} on ab / 110", "optimizer": "adam", "backend": backend()},
            "metrics": {"split": "the training photo, full resolution", **metrics}}
    modeldir.write_card(args.output, card)
    print(f"wrote {out_png}: AuC {metrics['model']['auc']:.2f} "
          f"(grayscale {metrics['grayscale_baseline']['auc']:.2f})")
    return 0


def _fit_alpha(args, fields, x, y):
    import keras
    os.makedirs(args.output, exist_ok=True)
    start_epoch = resume_point(args.output, fields) if args.resume else 0
    model = (modeldir.load_keras(os.path.join(args.output, LAST), compile=True) if start_epoch
             else compiled_model(args, args.image_size, None))
    cbs = [save_last(args.output, fields, every=ALPHA_SAVE_EVERY),
           keras.callbacks.CSVLogger(os.path.join(args.output, HISTORY), append=args.resume)]
    history = model.fit(x, y, batch_size=1, epochs=args.epochs, initial_epoch=start_epoch,
                        callbacks=cbs, verbose=0)
    return model, history.history, args.epochs


def main(argv=None):
    args = parse_args(argv)
    return train_alpha(args) if args.model == "alpha" else train_on_records(args)
