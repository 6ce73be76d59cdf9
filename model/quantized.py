"""Colour as classification over quantized ab (Zhang, Isola, Efros, "Colorful Image Colorization", 2016).

Regression on ab with L2 averages the plausible colours of a pixel into grey-brown. Predicting a
distribution over ab bins, trained with a soft-encoded, class-rebalanced cross-entropy, and decoding
it with the annealed mean keeps the colours vivid. Everything here is keras.ops, for any backend.

- AB_BINS: the centres of the 10x10 ab cells that hold an sRGB colour for some L (261 bins).
- rebalancing_weights(): per-bin weights from the training data's colour frequencies.
- SoftEncodedCrossEntropy: the loss, on a probability map at half the image size.
- AnnealedMean: probabilities -> ab (scaled to [-1, 1]) at temperature T; the shipped model ends in it.
"""
import keras
import numpy as np
from keras import layers, ops
from typing import Any

from model.choices import DEFAULT_TEMPERATURE, REBALANCE_MIX  # lambda and T: see model/choices.py
from tfrecords import contract as c

BIN_STEP = 10.0
SIGMA = 5.0          # soft-encoding and smoothing kernel, in ab units


def _in_gamut_bins():
    from basics.lab import lab_to_linear
    grid = np.arange(-110.0, 110.0 + 1, BIN_STEP)
    a, b = np.meshgrid(grid, grid, indexing="ij")
    centres = np.stack([a.ravel(), b.ravel()], -1)
    offsets = np.linspace(-BIN_STEP / 2, BIN_STEP / 2, 5)
    oa, ob = np.meshgrid(offsets, offsets, indexing="ij")
    points = centres[:, None, :] + np.stack([oa.ravel(), ob.ravel()], -1)[None]  # [bins, 25, 2]
    lightness = np.linspace(0.5, 99.5, 100)
    lab = np.concatenate([np.broadcast_to(lightness[:, None, None, None], (100, *points.shape[:2], 1)),
                          np.broadcast_to(points[None], (100, *points.shape))], -1)
    linear = lab_to_linear(lab)
    inside = ((linear >= 0) & (linear <= 1)).all(-1).any(axis=(0, 2))
    return centres[inside].astype(np.float32)


AB_BINS = _in_gamut_bins()
NUM_BINS = len(AB_BINS)


def _squared_distances(ab, centres):
    """ab [..., 2], centres [Q, 2] (same units) -> [..., Q]."""
    return (ops.sum(ab * ab, axis=-1, keepdims=True) - 2.0 * ops.einsum("...c,qc->...q", ab, centres)
            + ops.sum(centres * centres, axis=-1))


def nearest_bins(ab: np.ndarray) -> np.ndarray:
    """NumPy ab in Lab units [..., 2] -> index of the nearest bin [...]."""
    ab = np.asarray(ab, np.float32).reshape(-1, 2)
    d = (ab * ab).sum(-1, keepdims=True) - 2 * ab @ AB_BINS.T + (AB_BINS * AB_BINS).sum(-1)
    return d.argmin(-1)


def rebalancing_weights(ab_scaled: np.ndarray, mix: float = REBALANCE_MIX, sigma: float = SIGMA) -> np.ndarray:
    """Per-bin loss weights from training ab (scaled, [N, H, W, 2]): rare colours weigh more.

    The empirical bin distribution (of the 2x2-averaged ab the loss sees), smoothed by a Gaussian
    over the bins, mixed with the uniform one; w = 1 / mixture, normalised so that its expectation
    under the smoothed distribution is 1 (as Zhang et al.).
    """
    ab = np.asarray(ab_scaled, np.float32)
    n, h, w, _ = ab.shape
    pooled = ab[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, 2).mean((2, 4))
    counts = np.bincount(nearest_bins(pooled * c.AB_DIVISOR), minlength=NUM_BINS).astype(np.float64)
    p = counts / counts.sum()
    d2 = ((AB_BINS[:, None, :] - AB_BINS[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * sigma ** 2))
    p = kernel @ p / kernel.sum(1)
    p /= p.sum()
    weights = 1.0 / ((1 - mix) * p + mix / NUM_BINS)
    weights /= (p * weights).sum()
    return weights.astype(np.float32)


@keras.saving.register_keras_serializable(package="colorize")
class SoftEncodedCrossEntropy(keras.losses.Loss):
    """Cross-entropy between the predicted bin probabilities [B, H/2, W/2, Q] and the true ab
    ([B, H, W, 2], scaled), averaged 2x2 and soft-encoded over the bins with a Gaussian (sigma 5),
    each pixel weighted by the rebalancing weight of its nearest bin."""

    def __init__(self, weights=None, sigma=SIGMA, name="soft_encoded_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weights = [float(w) for w in (np.ones(NUM_BINS) if weights is None else weights)]
        self.sigma = float(sigma)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        centres = ops.convert_to_tensor(AB_BINS)
        ab = ops.average_pool(ops.cast(y_true, "float32"), 2, 2, padding="valid") * c.AB_DIVISOR
        d2 = _squared_distances(ab, centres)
        soft = ops.softmax(-d2 / (2.0 * self.sigma ** 2), axis=-1)
        pixel_weight = ops.take(ops.convert_to_tensor(np.asarray(self.weights, np.float32)),
                                ops.argmin(d2, axis=-1))
        probs = ops.clip(ops.cast(y_pred, "float32"), 1e-7, 1.0)
        return pixel_weight * -ops.sum(soft * ops.log(probs), axis=-1)

    def get_config(self) -> dict:
        return {**super().get_config(), "weights": self.weights, "sigma": self.sigma}


@keras.saving.register_keras_serializable(package="colorize")
class AnnealedMean(layers.Layer):
    """Bin probabilities [..., Q] -> ab scaled to [-1, 1] [..., 2]: the mean of the distribution
    sharpened by temperature T (T=1: the plain mean; T->0: the mode; 0.38 as Zhang et al.)."""

    def __init__(self, temperature=DEFAULT_TEMPERATURE, vividness=1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature, self.vividness = float(temperature), float(vividness)

    def call(self, probs: Any) -> Any:
        sharpened = ops.softmax(ops.log(ops.clip(probs, 1e-7, 1.0)) / self.temperature, axis=-1)
        ab = ops.einsum("...q,qc->...c", sharpened, ops.convert_to_tensor(AB_BINS / c.AB_DIVISOR))
        # The model's own colour strength, as `colorize run --vividness` scales it (model.inference.vivid).
        return ab if self.vividness == 1.0 else ops.clip(ab * self.vividness, -1.0, 1.0)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (*input_shape[:-1], 2)

    def get_config(self) -> dict:
        return {**super().get_config(), "temperature": self.temperature, "vividness": self.vividness}


@keras.saving.register_keras_serializable(package="colorize")
class Mirror(layers.Layer):
    """[B, H, W, C] -> the same, left and right swapped."""

    def call(self, x: Any) -> Any:
        return keras.ops.flip(x, axis=2)


def inference_model(trained: keras.Model, temperature: float = DEFAULT_TEMPERATURE, vividness: float = 1.0,
                    flip_average: bool = False) -> keras.Model:
    """The trained probability model -> a model that outputs ab at full size, like the regression ones.
    flip_average: the bin probabilities averaged with those of the mirrored photo, mirrored back (two
    forward passes)."""
    inputs, probs = trained.input, trained.output
    if flip_average:  # the trained model as one nested layer, called on the photo and on its mirror image
        if isinstance(trained.input, dict):  # fusion: the embedding of the whole photo is the same mirrored
            inputs = {k: keras.Input(v.shape[1:], name=k) for k, v in trained.input.items()}
            mirrored_in = {**inputs, "l": Mirror(name="mirror_in")(inputs["l"])}
            if "hints" in inputs:  # the hints sit where their pixels do: mirrored with them
                mirrored_in["hints"] = Mirror(name="mirror_hints")(inputs["hints"])
        else:
            inputs = keras.Input(trained.input.shape[1:], name="l")
            mirrored_in = Mirror(name="mirror_in")(inputs)
        probs = layers.Average(name="flip_average")([trained(inputs), Mirror(name="mirror_out")(trained(mirrored_in))])
    ab = AnnealedMean(temperature, vividness, name="annealed_mean")(probs)
    ab = layers.UpSampling2D(2, interpolation="bilinear", name="ab")(ab)
    return keras.Model(inputs, ab, name=trained.name)
