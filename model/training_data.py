"""Training input, on any Keras backend: tf.data on TensorFlow, a keras.utils.PyDataset of NumPy
arrays elsewhere. Both shuffle, flip L and ab alike at random, and read `devices.usable_count` records
an epoch."""
import logging

import keras
import numpy as np

import tfrecords
from model.devices import backend, training_devices, usable_count
from model.networks import ModelError
from tfrecords import contract as c

log = logging.getLogger("colorize")
SHUFFLE_BUFFER = 2048


def _split_inputs(d, fusion):
    x = {"l": d["l"], "embedding": d["embedding"]} if fusion else d["l"]
    return x, d["ab"]


def tf_dataset(data_dir, split, info, batch_size, fusion, seed, training, replicas=1):
    """tfrecords.load -> shuffle -> random horizontal flip (L and ab alike) -> batch -> prefetch.

    Reads usable_count() records an epoch: full training batches, no device left with an empty share.
    """
    import tensorflow as tf
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


class ArrayBatches(keras.utils.PyDataset):
    """Batches of a split held in memory as NumPy arrays (records read in pure Python)."""

    def __init__(self, arrays, batch_size, fusion, seed, training, replicas=1):
        super().__init__()
        self.arrays, self.batch_size, self.fusion, self.seed, self.training = arrays, batch_size, fusion, seed, training
        self.epoch = 0
        self.order = np.arange(len(arrays["l"]))
        self.usable = usable_count(len(self.order), batch_size, replicas, training)  # as tf_dataset
        self.on_epoch_end()

    def __len__(self):
        return int(np.ceil(self.usable / self.batch_size))

    def on_epoch_end(self):
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        if self.training:
            self.order = rng.permutation(len(self.arrays["l"]))
            self.flips = rng.random(len(self.arrays["l"])) < 0.5

    def __getitem__(self, i):
        a = self.arrays
        idx = self.order[i * self.batch_size:min((i + 1) * self.batch_size, self.usable)]
        l, ab = a["l"][idx], a["ab"][idx]
        if self.training:
            f = self.flips[idx]
            l[f], ab[f] = l[f][:, :, ::-1], ab[f][:, :, ::-1]
        d = {"l": l, "ab": ab, "embedding": a.get("embedding", np.zeros((len(a["l"]), 0)))[idx]}
        return _split_inputs(d, self.fusion)


def datasets(data_dir, info, batch_size, fusion, seed):
    """(training input, validation input or None) for the records in data_dir."""
    counts = info["counts"]["per_split"]
    replicas = len(training_devices())
    if batch_size < replicas:
        raise ModelError(f"--batch-size {batch_size} is smaller than the {replicas} devices training in sync: "
                         f"each needs a share of every batch (use --batch-size {replicas} or more)")
    if not counts.get("train"):
        raise c.ContractError(f"{data_dir} has no training records")
    if counts["train"] < replicas:
        raise c.ContractError(f"{data_dir} has {counts['train']} training records: "
                              f"too few for {replicas} devices training in sync")
    val_used = usable_count(counts.get("val", 0), batch_size, replicas, False)
    if val_used < counts.get("val", 0):
        log.warning("validation reads %d of its %d records: a last batch smaller than the %d devices is left out",
                    val_used, counts["val"], replicas)

    def make(split, training):
        if backend() == "tensorflow":
            return tf_dataset(data_dir, split, info, batch_size, fusion, seed, training, replicas)
        return ArrayBatches(tfrecords.read_arrays(data_dir, split), batch_size, fusion, seed, training, replicas)
    return make("train", True), (make("val", False) if val_used else None)
