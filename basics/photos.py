"""Decoding photos of every kind into upright 8-bit pixels (PIL and NumPy only: no Beam, no TensorFlow).

Each failure is an `ImageError` with a one-line reason; the stages count and list them. What the
network sees of the decoded pixels is decided in `basics.view`.
"""
import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from basics.errors import UserError, reason_of

DEFAULT_MAX_PIXELS = 200_000_000  # decompression-bomb limit; a 50-megapixel scan passes
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")

# Pillow's own bomb check is a warning below 2x its limit; ours is a hard, configurable limit.
Image.MAX_IMAGE_PIXELS = None


class ImageError(UserError):
    """A photo that cannot be used; str() is the one-line reason."""


def is_image_name(path):
    return path.lower().endswith(IMAGE_EXTENSIONS)


def open_image(data, max_pixels=DEFAULT_MAX_PIXELS):
    """Opens encoded bytes lazily, refusing empty files and images over the pixel limit."""
    if not data:
        raise ImageError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not a readable image: no image format Pillow knows") from None
    except Exception as e:  # Pillow raises many types for unreadable data
        raise ImageError(f"not a readable image: {reason_of(e)}") from None
    check_pixels(im.size, max_pixels)
    return im


def check_pixels(size, max_pixels):
    w, h = size
    if w * h > max_pixels:
        raise ImageError(f"{w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} (decompression bomb?)")


def head_checker(max_pixels):
    """A check of a file's first bytes, before the rest is read (see sources.read_bounded).

    Refuses a file that no image format Pillow recognises by its signature starts like (a member of
    zeros that inflates to gigabytes is refused after one megabyte), and an image whose header,
    when it lies within those bytes, declares more pixels than allowed.
    """
    Image.init()
    accepts = [accept for _, accept in Image.OPEN.values() if accept is not None]

    def check(head):
        if not head:
            raise ImageError("empty file (0 bytes)")
        if not any(accept(head[:16]) for accept in accepts):
            raise ImageError("not a readable image: its first bytes match no image format")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                size = Image.open(io.BytesIO(head)).size
        except Exception:  # the header reaches past the head: the whole file is read, then checked
            return
        check_pixels(size, max_pixels)
    return check


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
    except Exception as e:  # Pillow raises many types for broken data
        raise ImageError(f"cannot decode image: {reason_of(e)}") from None


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


def frames(data, max_pixels=DEFAULT_MAX_PIXELS, draft_size=None):
    """(index, count, upright image) for every frame of an animation and every page of a multi-page
    file, one at a time; a plain photo is one frame.

    Later frames are part of the photo (the back of a card, a second exposure): they are colorized
    too, never dropped. Each frame is checked against the pixel limit before it is decoded.
    """
    im = open_image(data, max_pixels)
    try:
        n = getattr(im, "n_frames", 1)
    except Exception as e:  # Pillow walks the frames to count them: broken data raises many types
        raise ImageError(f"cannot read its frames: {reason_of(e)}") from None
    for i in range(n):
        if i:
            try:
                im.seek(i)
            except Exception as e:  # as above
                raise ImageError(f"cannot read frame {i + 1} of {n}: {reason_of(e)}") from None
            check_pixels(im.size, max_pixels)
        yield i, n, to_upright(im, draft_size if n == 1 else None)


def decode_rgb(data, max_pixels=DEFAULT_MAX_PIXELS, draft_size=None):
    """Encoded bytes -> upright uint8 RGB array [H, W, 3]."""
    im = to_upright(open_image(data, max_pixels), draft_size)
    return np.asarray(to_rgb(im))


class SkipImage(ImageError):
    """A readable photo that is deliberately not used (counted as skipped, not failed).

    `kind` is the short reason the counts are grouped by ("too small", "no colour", ...).
    """

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def pixels(im):
    """An upright PIL image -> uint8 grey [H, W] (grey photos stay one channel) or RGB [H, W, 3]."""
    return np.asarray(im) if im.mode == "L" else np.asarray(to_rgb(im))
