"""Colour hints: points of known colour the network sees beside L (Zhang, Zhu et al. 2017, "Real-Time
User-Guided Image Colorization with Learned Deep Priors"), as one [h, w, CHANNELS] plane at the model's view:

    channel 0, 1: the hinted ab, scaled as the model's ab ([-1, 1], contract.scale_ab), 0 where no hint
    channel 2:    1 where a hint is, 0 elsewhere (so a hint of grey, ab 0, still says "this is grey")

A point is (x, y, a, b): x and y fractions of the photo's width and height (a hint survives any resolution),
a and b in Lab units. It covers a (2 * VIEW_HALF + 1)-pixel square of the model's view, whatever the photo's size.

Training draws points from the truth (sample_planes): half the photos get none, so that with no hints the model
colours as the automatic one does; the others a count from a geometric distribution (mean 1 / GEOMETRIC_P), at
uniform places, each the mean ab of a square of 1, 3 or 5 pixels, drawn over that square. No Keras here."""
from typing import Any

import numpy as np

from basics.errors import ModelError
from tfrecords import contract as c

CHANNELS = 3
NO_HINT_SHARE = 0.5   # training photos that get no hint at all
GEOMETRIC_P = 1 / 8   # Zhang et al.'s: the count of a hinted photo's points, mean 8
MAX_POINTS = 32
TRAIN_HALVES = (0, 1, 2)  # a training hint's square: 1, 3 or 5 pixels a side
VIEW_HALF = 1         # a user's hint at the model's view: 3 x 3 pixels
TRUTH_HALF = 2        # a hint sampled from a photo's truth for scoring: the mean ab of a 5 x 5 square


def empty(n: int, h: int, w: int) -> np.ndarray:
    """[n, h, w, CHANNELS] float32 with no hint."""
    return np.zeros((n, h, w, CHANNELS), np.float32)


def sample_planes(ab_scaled: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Training: [n, h, w, 2] true ab, scaled -> [n, h, w, CHANNELS] hints drawn from it (module docstring)."""
    n, h, w, _ = ab_scaled.shape
    planes = empty(n, h, w)
    counts = np.where(rng.random(n) < NO_HINT_SHARE, 0, np.minimum(rng.geometric(GEOMETRIC_P, n), MAX_POINTS))
    for i in np.flatnonzero(counts):
        k = counts[i]
        halves = rng.choice(TRAIN_HALVES, k)
        ys, xs = rng.integers(0, h, k), rng.integers(0, w, k)
        for y, x, r in zip(ys, xs, halves, strict=True):
            y0, y1, x0, x1 = max(0, y - r), min(h, y + r + 1), max(0, x - r), min(w, x + r + 1)
            planes[i, y0:y1, x0:x1, :2] = ab_scaled[i, y0:y1, x0:x1].mean(axis=(0, 1))
            planes[i, y0:y1, x0:x1, 2] = 1.0
    return planes


def draw(points: list, h: int, w: int, half: int = VIEW_HALF) -> np.ndarray:
    """[(x, y, a, b[, anything]), ...] (fractions of the photo's sides, Lab ab; a hints file's points also keep
    the colour as written) -> [h, w, CHANNELS], one square each; a later point is drawn over an earlier one."""
    plane = empty(1, h, w)[0]
    for x, y, a, b, *_ in points:
        cy, cx = min(h - 1, int(y * h)), min(w - 1, int(x * w))
        sl = (slice(max(0, cy - half), cy + half + 1), slice(max(0, cx - half), cx + half + 1))
        plane[sl + (slice(0, 2),)] = c.scale_ab(np.array([a, b], np.float32))
        plane[sl + (2,)] = 1.0
    return plane


def from_truth(ab: np.ndarray, count: int, rng: np.random.Generator, half: int = TRUTH_HALF) -> list:
    """A photo's true ab [H, W, 2] (Lab units) -> count points at uniform places, each the mean ab of the
    (2 * half + 1)-pixel square around it: what `colorize evaluate --hint-points` gives the model."""
    h, w = ab.shape[:2]
    points = []
    for _ in range(count):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        a, b = ab[max(0, y - half):y + half + 1, max(0, x - half):x + half + 1].reshape(-1, 2).mean(axis=0)
        points.append(((x + 0.5) / w, (y + 0.5) / h, float(a), float(b)))
    return points


def takes_hints(model: Any) -> bool:
    """Whether a Keras model has a "hints" input."""
    return isinstance(model.input, dict) and "hints" in model.input


def model_inputs(l: np.ndarray, takes: bool, planes: np.ndarray | None = None) -> Any:
    """A batch of L [n, h, w, 1] as a model is fed it: for a model that takes hints, {"l", "hints"} with the planes
    given or, where none are, empty ones (it colours on its own); else L alone (planes given to it: an error)."""
    if takes:
        return {"l": l, "hints": empty(*l.shape[:3]) if planes is None else np.asarray(planes, np.float32)}
    if planes is not None:
        raise ModelError("this model takes no colour hints")
    return l
