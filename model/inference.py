"""From a photo's own L to a full-resolution colour photo: prediction and merge.

The model sees the photo as `basics.view.model_input` makes it; its ab is upsampled to the photo's full size and
joined with the photo's OWN full-resolution L, so no detail is lost. The merge works in strips of
rows so a 50-megapixel scan needs only a few copies of itself in memory.
"""
import threading
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from model import hints as hinting
from tfrecords import contract as c
from basics import view
from basics.lab import lightness, planes_to_rgb_uint8, planes_to_rgb_uint16

if TYPE_CHECKING:  # for annotations only: the backend loads when a model is built
    import keras

STRIP_ROWS = 512


class Compiled:
    """A model's forward pass compiled once for one batch shape, on any Keras backend.

    On JAX (the jit-compiled predict step of `predict_on_batch`) each new shape compiles anew, so a
    short batch (a bundle's last) is padded with zeros: on a CPU to the next power of two (at most
    `batch_size`), so only a handful of shapes ever occur; on a GPU or TPU, where padded rows cost
    next to nothing and a compile costs seconds, to `batch_size` itself: one shape, one compile.
    TensorFlow's tf.function with reduce_retracing serves every length from one trace, so there
    nothing is padded (padding cost preprocess half its throughput on CPU, where Inception's batches
    are small). PyTorch runs it eagerly.
    One forward pass runs at a time: a model shared by a machine's workers (--share-model) is called
    from a thread per client, and Keras' JAX predict step replaces the model's state buffers as it
    runs, so two at once fail ("Buffer has been deleted or donated"). The device runs one batch at a
    time anyway; padding and copying out stay outside the lock.
    Inputs: an array [n, ...] or a dict of them.
    """

    def __init__(self, model, batch_size):
        self.batch_size = batch_size
        import keras
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf
            self._forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
            self._shape_free = True  # one trace serves every batch length: padding would only add work
        else:
            self._shape_free = False
            self._forward = model.predict_on_batch
        self._one_shape = _on_accelerator()
        self._lock = threading.Lock()
        self.takes_hints = hinting.takes_hints(model)

    def __call__(self, x):
        if not isinstance(x, dict):  # L alone: a model that takes hints gets empty planes
            x = hinting.model_inputs(x, self.takes_hints)
        first = next(iter(x.values())) if isinstance(x, dict) else x
        n = len(first)
        if n > self.batch_size:
            return np.concatenate([self({k: v[i:i + self.batch_size] for k, v in x.items()} if isinstance(x, dict)
                                        else x[i:i + self.batch_size]) for i in range(0, n, self.batch_size)])

        size = (n if self._shape_free else self.batch_size if self._one_shape
                else min(self.batch_size, 1 << (n - 1).bit_length()))

        def pad(a: np.ndarray) -> np.ndarray:
            a = np.asarray(a, np.float32)
            return a if n == size else np.concatenate([a, np.zeros((size - n, *a.shape[1:]), a.dtype)])
        padded = {k: pad(v) for k, v in x.items()} if isinstance(x, dict) else pad(x)
        with self._lock:
            out = self._forward(padded)
        return np.asarray(out)[:n]


def _on_accelerator():
    """True when Keras runs on JAX and JAX's default device is a GPU or TPU."""
    import keras
    if keras.backend.backend() != "jax":
        return False
    import jax
    return jax.default_backend() != "cpu"


def upsample_ab(ab_small: np.ndarray, width: int, height: int, rows: range | None = None) -> np.ndarray:
    """[s, s, 2] ab (Lab units) -> [height, width, 2] float32, bicubic; or only output `rows` (a range).

    Pillow's resize of a box draws on the source pixels around it too, so strips upsampled
    one by one equal the whole image upsampled at once.
    """
    return np.stack(upsample_planes(ab_small, width, height, rows), axis=-1)


def upsample_planes(ab_small: np.ndarray, width: int, height: int, rows: range | None = None) -> list:
    """upsample_ab as its two planes, [a, b], each [rows, width] float32: what the merge takes."""
    y0, y1 = (0, height) if rows is None else (rows.start, min(rows.stop, height))
    sh, sw = ab_small.shape[:2]
    box = (0, y0 * sh / height, sw, y1 * sh / height)
    return [np.asarray(Image.fromarray(np.ascontiguousarray(ab_small[..., i], np.float32), "F")
                       .resize((width, y1 - y0), Image.BICUBIC, box=box)) for i in range(2)]


def vivid(ab: np.ndarray, vividness: float = 1.0) -> np.ndarray:
    """Predicted ab (Lab units) with its chroma scaled by `vividness`: 1 is the model as trained, above
    1 louder colours, below 1 quieter ones, 0 grey. Hue is kept; the scaled ab stays within the
    range the networks predict, and the Lab -> sRGB conversion clips what leaves the gamut."""
    if vividness == 1.0:
        return ab
    return np.clip(np.asarray(ab, np.float32) * np.float32(vividness), -c.AB_DIVISOR, c.AB_DIVISOR)


def merge(l_full: np.ndarray, ab_small: np.ndarray, bits: int = 8) -> np.ndarray:
    """The photo's own L [H, W] with upsampled ab -> sRGB [H, W, 3], uint8 (bits 8) or uint16 (bits 16: the
    colour copy of a 16-bit master), strip by strip.

    Only one strip of upsampled ab exists at a time, so a 50-megapixel scan costs its L, its
    output and a strip, not a full-size float ab.
    """
    h, w = l_full.shape
    to_rgb = {8: planes_to_rgb_uint8, 16: planes_to_rgb_uint16}[bits]
    out = np.empty((h, w, 3), np.uint8 if bits == 8 else np.uint16)
    for y in range(0, h, STRIP_ROWS):
        out[y:y + STRIP_ROWS] = to_rgb(l_full[y:y + STRIP_ROWS], *upsample_planes(ab_small, w, h, range(y, y + STRIP_ROWS)))
    return out


def predict_ab(model: "keras.Model", l_inputs: np.ndarray, embeddings: np.ndarray | None = None,
               hints: np.ndarray | None = None) -> np.ndarray:
    """Batch of [N, s, s, 1] scaled L (+ [N, D] embeddings, + [N, s, s, 3] hint planes) -> [N, s, s, 2] ab in
    Lab units. A model that takes hints and is given none gets empty planes: it colours on its own."""
    x = hinting.model_inputs(np.asarray(l_inputs, np.float32), hinting.takes_hints(model), hints)
    if embeddings is not None:
        x = {"l": x, "embedding": np.asarray(embeddings, np.float32)}
    return c.unscale_ab(np.asarray(model(x, training=False)))


def colorize_pixels(model: "keras.Model", pixels: np.ndarray, size: int, embedding: np.ndarray | None = None,
                    vividness: float = 1.0, points: list | None = None) -> np.ndarray:
    """One photo's pixels -> full-resolution colour uint8 RGB (no batching; for small jobs).
    points: colour hints [(x, y, a, b), ...] (model/hints.py) for a model that takes them."""
    l_full = lightness(np.asarray(pixels))
    l_in = view.model_input(pixels, size)[None]
    planes = hinting.draw(points, *l_in.shape[1:3])[None] if points else None
    ab = vivid(predict_ab(model, l_in, None if embedding is None else np.asarray(embedding)[None], planes)[0],
               vividness)
    return merge(l_full, ab)
