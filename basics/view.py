"""The network's view of a photo: the one place that decides it, for training, evaluation and colorization.

The network sees a size x size square of L (and Inception the same photo, grey, at 299 x 299), made
from the decoded 8-bit pixels by one Lanczos resize, then Lab:

- Training records hold the photo's centre square (short side resized to size): every ab label lies
  under its own L pixel, in the photo's true proportions.
- Evaluation, colorization and alpha (which learns and colours one whole photo) must cover every
  pixel, so they squeeze the whole photo to the square by the same resize; the predicted ab is
  stretched back over the photo's own full-resolution L (model.inference.merge). Measured on
  held-out photos with the shipped model, squeezing instead of keeping the aspect made no AuC
  difference, and the squeeze is the simpler of the views that cover a whole photo.

So on a square photo the two views are the same pixels (tested).
"""
import numpy as np
from PIL import Image

from basics.lab import grey_rgb_from_lightness, lightness, quantize_ab, quantize_l, rgb_to_lab, scale_l
from basics.photos import SkipImage

INCEPTION_SIZE = 299  # Inception-ResNet-v2's input side
MIN_SIDE = 32  # preprocess skips images whose short side is smaller: upscaled thumbnails teach blur
CROP, SQUEEZE = "centre square", "whole photo squeezed"
TRAINING_VIEW, INFERENCE_VIEW = CROP, SQUEEZE
# A photo whose pixels' chroma (|ab|) at the 99th percentile is below this has no colour to learn from.
GREYSCALE_CHROMA = 3.0


def square(pixels: np.ndarray, size: int, view: str) -> np.ndarray:
    """uint8 RGB [H, W, 3] or grey [H, W] -> [size, size(, 3)] uint8: the centre square or the squeeze."""
    im = Image.fromarray(np.asarray(pixels))
    if view == SQUEEZE:
        return np.asarray(im.resize((size, size), Image.LANCZOS))
    h, w = im.size[1], im.size[0]
    scale = size / min(h, w)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    im = im.resize((nw, nh), Image.LANCZOS)
    left, top = (nw - size) // 2, (nh - size) // 2
    return np.asarray(im.crop((left, top, left + size, top + size)))


def model_input(pixels: np.ndarray, size: int) -> np.ndarray:
    """A whole photo (uint8 RGB or grey) -> [size, size, 1] float32 L scaled to [-1, 1]: what the
    network sees at evaluation and colorization (colour photos lose their colour)."""
    return model_input_of_view(square(pixels, size, INFERENCE_VIEW))


def model_input_of_view(squeezed: np.ndarray) -> np.ndarray:
    """model_input from the photo's view already made (square(pixels, size, INFERENCE_VIEW)): a caller that needs
    the view for something else too resizes the photo once."""
    return scale_l(lightness(squeezed))[..., None]


def inception_input(pixels: np.ndarray, view: str = INFERENCE_VIEW) -> np.ndarray:
    """A photo -> Inception's input: its black-and-white version, 3 equal uint8 channels, 299 x 299."""
    return grey_rgb_from_lightness(lightness(square(pixels, INCEPTION_SIZE, view)))


def training_example(rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 RGB photo -> (L uint8 [size,size], ab int8 [size,size,2], Inception's grey uint8 [299,299,3]).

    Raises SkipImage for photos under MIN_SIDE px and for photos without colour: neither teaches colour.
    """
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise SkipImage("too small", f"{w}x{h}, short side under {MIN_SIDE} px")
    lab = rgb_to_lab(square(rgb, size, TRAINING_VIEW))
    if not has_colour(lab):
        raise SkipImage("no colour", "a greyscale photo")
    return quantize_l(lab[..., 0]), quantize_ab(lab[..., 1:]), inception_input(rgb, TRAINING_VIEW)


def has_colour(lab: np.ndarray) -> bool:
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return float(np.percentile(chroma, 99)) >= GREYSCALE_CHROMA


def whole_photo_lab(rgb: np.ndarray, size: int) -> np.ndarray:
    """uint8 RGB photo -> float32 Lab [size, size, 3] of the squeezed view (alpha's one training photo)."""
    return rgb_to_lab(square(rgb, size, INFERENCE_VIEW))
