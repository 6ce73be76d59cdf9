"""Decoding photos of every kind into upright 8-bit pixels, and the crops the models see.

Each failure is an `ImageError` with a one-line reason; the stages count and list them.
"""
import io
import warnings

import numpy as np
from PIL import Image, ImageOps

from tfrecords import contract as c
from tfrecords.lab import lightness, rgb_to_lab

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")
# An image whose colour pixels have chroma (|ab|) below this, at the 99th percentile, has no colour.
GREYSCALE_CHROMA = 3.0

# Pillow's own bomb check is a warning below 2x its limit; ours is a hard, configurable limit.
Image.MAX_IMAGE_PIXELS = None


class ImageError(Exception):
    """A photo that cannot be used; str() is the one-line reason."""


def is_image_name(path):
    return path.lower().endswith(IMAGE_EXTENSIONS)


def open_image(data, max_pixels=c.DEFAULT_MAX_PIXELS):
    """Opens encoded bytes lazily, refusing empty files and images over the pixel limit."""
    if not data:
        raise ImageError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
    except Exception as e:  # Pillow raises many types for unreadable data
        raise ImageError(f"not a readable image: {e}") from None
    w, h = im.size
    if w * h > max_pixels:
        raise ImageError(f"{w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} (decompression bomb?)")
    return im


def _flatten_alpha(im):
    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def to_upright(im, draft_size=None):
    """Loads pixels, applies EXIF orientation; `draft_size` lets JPEG decode at a reduced scale."""
    try:
        if draft_size and im.format == "JPEG":
            im.draft(im.mode if im.mode in ("RGB", "L") else None, (draft_size, draft_size))
        im.load()
        return ImageOps.exif_transpose(im)
    except ImageError:
        raise
    except Exception as e:
        raise ImageError(f"cannot decode image: {e}") from None


def to_rgb(im):
    """Any mode (palette, alpha, CMYK, 16-bit, grey) -> 8-bit RGB; transparency composited on white."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float32)
        peak = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        grey = np.clip(np.round(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if im.mode == "F":  # float images: [0, 1] or [0, 255]
        arr = np.asarray(im, dtype=np.float32)
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        return Image.fromarray(np.clip(np.round(arr * scale), 0, 255).astype(np.uint8), "L").convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        return _flatten_alpha(im)
    return im.convert("RGB")


def decode_rgb(data, max_pixels=c.DEFAULT_MAX_PIXELS, draft_size=None):
    """Encoded bytes -> upright uint8 RGB array [H, W, 3]."""
    im = to_upright(open_image(data, max_pixels), draft_size)
    return np.asarray(to_rgb(im))


def centre_square(rgb, size):
    """Resize so the short side is `size` (Lanczos), then crop the centre square."""
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    im = Image.fromarray(rgb).resize((nw, nh), Image.LANCZOS)
    left, top = (nw - size) // 2, (nh - size) // 2
    return np.asarray(im.crop((left, top, left + size, top + size)))


def has_colour(lab):
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return float(np.percentile(chroma, 99)) >= GREYSCALE_CHROMA


def training_example(rgb, size):
    """uint8 RGB photo -> (L uint8 [size,size], ab int8 [size,size,2], grey uint8 [299,299,3]).

    Raises ImageError for photos under MIN_SIDE px and for photos without colour (callers count
    those as skipped, see `SkipImage`).
    """
    h, w = rgb.shape[:2]
    if min(h, w) < c.MIN_SIDE:
        raise SkipImage(f"too small: {w}x{h}, short side under {c.MIN_SIDE} px")
    square = centre_square(rgb, size)
    lab = rgb_to_lab(square)
    if not has_colour(lab):
        raise SkipImage("no colour (greyscale photo)")
    grey = grey_for_inception(centre_square(rgb, c.INCEPTION_SIZE))
    return c.quantize_l(lab[..., 0]), c.quantize_ab(lab[..., 1:]), grey


def grey_for_inception(rgb):
    """The black-and-white version of an RGB image, as 3 equal uint8 channels (Inception's input)."""
    from tfrecords.lab import grey_rgb_from_lightness
    return grey_rgb_from_lightness(lightness(rgb))


def inception_input(rgb):
    """Inception's view of a whole photo at inference: the grey photo squeezed to 299x299."""
    small = Image.fromarray(rgb).resize((c.INCEPTION_SIZE,) * 2, Image.BILINEAR)
    return grey_for_inception(np.asarray(small))


class SkipImage(ImageError):
    """A readable photo that is deliberately not used (counted as skipped, not failed)."""
