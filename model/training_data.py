"""Training input, on any Keras backend: tf.data on TensorFlow, a keras.utils.PyDataset of NumPy
arrays elsewhere. Both shuffle, flip L and ab alike at random, with augment="zoom" also crop a random
square of ZOOM_RANGE of the side and resize it back (bilinear, L and ab alike), and read
`devices.usable_count` records an epoch. A model that takes colour hints gets, in training, hints drawn from
each batch's own ab (model/hints.sample_planes, after the flips and crops, so they sit on the colours the model
is asked for); in validation none: its loss is the automatic colorization's."""
import logging
from typing import Any

import keras
import numpy as np

import tfrecords
from model import hints as hinting
from model.devices import backend, training_devices, usable_count
from basics.errors import ModelError
from tfrecords import contract as c

log = logging.getLogger("colorize")
SHUFFLE_BUFFER = 2048
ZOOM_RANGE = (0.75, 1.0)  # the crop's side, as a fraction of the record's


def zoom_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random crop boxes [y0, x0, y1, x1] in fractions of the side: side uniform in ZOOM_RANGE."""
    side = rng.uniform(*ZOOM_RANGE, size=n)
    y0, x0 = rng.uniform(0, 1, size=n) * (1 - side), rng.uniform(0, 1, size=n) * (1 - side)
    return np.stack([y0, x0, y0 + side, x0 + side], axis=1).astype(np.float32)


def _interpolation(lo, hi, s):
    """[N, S, S] matrices taking S samples to the S bilinear samples between lo and hi (fractions of the side)."""
    pos = (lo[:, None] + (hi - lo)[:, None] * (np.arange(s, dtype=np.float32) / (s - 1))) * (s - 1)
    i0 = np.floor(pos).astype(int)
    w, i1 = (pos - i0).astype(np.float32), np.minimum(i0 + 1, s - 1)
    m = np.zeros((len(lo), s, s), np.float32)
    n, r = np.arange(len(lo))[:, None], np.arange(s)[None, :]
    np.add.at(m, (n, r, i0), 1 - w)
    np.add.at(m, (n, r, i1), w)
    return m


def crop_and_resize(images: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """[N, S, S, C] float32 and boxes [N, 4] -> [N, S, S, C]: each box's pixels bilinearly resized to S x S
    (pixel centres as tf.image.crop_and_resize), as two batched matrix products (rows, then columns):
    several times faster than gathering the four neighbours of every pixel."""
    s = images.shape[1]
    rows = np.einsum("nys,nsxc->nyxc", _interpolation(boxes[:, 0], boxes[:, 2], s), images, optimize=True)
    return np.einsum("nxt,nytc->nyxc", _interpolation(boxes[:, 1], boxes[:, 3], s), rows, optimize=True)


def _split_inputs(d, fusion, hints=False):
    if hints:
        return {"l": d["l"], "hints": d["hints"]}, d["ab"]
    x = {"l": d["l"], "embedding": d["embedding"]} if fusion else d["l"]
    return x, d["ab"]


def tf_dataset(data_dir: str, split: str, info: dict, batch_size: int, fusion: bool, seed: int, training: bool,
               replicas: int = 1, augment: str = "flip", hints: bool = False) -> Any:
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

        def flip(d: dict, coin: Any) -> dict:
            do = tf.equal(coin % 2, 1)
            return {k: (tf.cond(do, lambda v=v: tf.reverse(v, [1]), lambda v=v: v) if k in ("l", "ab") else v)
                    for k, v in d.items()}
        ds = tf.data.Dataset.zip((ds, coins)).map(flip, num_parallel_calls=tf.data.AUTOTUNE)
        if augment == "zoom":
            size = info["image_size"]

            def zoom(d: dict, key: Any) -> dict:
                side = tf.random.stateless_uniform([], key, *ZOOM_RANGE)
                y0, x0 = tf.unstack(tf.random.stateless_uniform([2], key + 1) * (1 - side))
                both = tf.concat([d["l"], d["ab"]], axis=-1)[None]
                out = tf.image.crop_and_resize(both, [[y0, x0, y0 + side, x0 + side]], [0], [size, size])[0]
                return {**d, "l": out[..., :1], "ab": out[..., 1:]}
            keys = tf.data.Dataset.random(seed=seed + 1, rerandomize_each_iteration=True).batch(2)
            ds = tf.data.Dataset.zip((ds, keys)).map(zoom, num_parallel_calls=tf.data.AUTOTUNE)
    count = info["counts"]["per_split"][split]
    usable = usable_count(count, batch_size, replicas, training)
    ds = ds.take(usable) if usable < count else ds
    drop = training and count >= batch_size
    steps = usable // batch_size if drop else -(-usable // batch_size)
    # Records files do not know their length; the count in dataset.json does (a cosine schedule needs it).
    ds = ds.batch(batch_size, drop_remainder=drop).apply(tf.data.experimental.assert_cardinality(steps))
    if hints:  # training: drawn per batch by the same NumPy function ArrayBatches uses; validation: none
        rng = np.random.default_rng([seed, 7])
        side = info["image_size"]

        def add_hints(d: dict) -> dict:
            if not training:
                return {**d, "hints": tf.zeros([tf.shape(d["ab"])[0], side, side, hinting.CHANNELS])}
            p = tf.numpy_function(lambda ab: hinting.sample_planes(ab, rng), [d["ab"]], tf.float32, stateful=True)
            return {**d, "hints": tf.ensure_shape(p, [None, side, side, hinting.CHANNELS])}
        ds = ds.map(add_hints)
    ds = ds.map(lambda d: _split_inputs(d, fusion, hints), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


class ArrayBatches(keras.utils.PyDataset):
    """Batches of a split held in memory as NumPy arrays (records read in pure Python)."""

    def __init__(self, arrays, batch_size, fusion, seed, training, replicas=1, augment="flip", hints=False):
        super().__init__()
        self.arrays, self.batch_size, self.fusion, self.seed, self.training = arrays, batch_size, fusion, seed, training
        self.augment, self.hints = augment, hints
        self.epoch = 0
        self.order = np.arange(len(arrays["l"]))
        self.usable = usable_count(len(self.order), batch_size, replicas, training)  # as tf_dataset
        self.on_epoch_end()

    def __len__(self):
        return int(np.ceil(self.usable / self.batch_size))

    def on_epoch_end(self) -> None:
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
            if self.augment == "zoom":
                boxes = zoom_boxes(np.random.default_rng([self.seed, self.epoch, i]), len(idx))
                both = crop_and_resize(np.concatenate([l, ab], axis=-1), boxes)
                l, ab = both[..., :1], both[..., 1:]
        d = {"l": l, "ab": ab, "embedding": a.get("embedding", np.zeros((len(a["l"]), 0)))[idx]}
        if self.hints:
            d["hints"] = (hinting.sample_planes(ab, np.random.default_rng([self.seed, self.epoch, i, 7]))
                          if self.training else hinting.empty(*l.shape[:3]))
        return _split_inputs(d, self.fusion, self.hints)


def datasets(data_dir: str, info: dict, batch_size: int, fusion: bool, seed: int, augment: str = "flip",
             hints: bool = False) -> tuple[Any, Any]:
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

    def make(split: str, training: bool) -> Any:
        if backend() == "tensorflow":
            return tf_dataset(data_dir, split, info, batch_size, fusion, seed, training, replicas, augment, hints)
        return ArrayBatches(tfrecords.read_arrays(data_dir, split), batch_size, fusion, seed, training, replicas,
                            augment, hints)
    return make("train", True), (make("val", False) if val_used else None)
