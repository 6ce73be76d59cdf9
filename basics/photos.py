"""Decoding photos of every kind into upright pixels (PIL and NumPy only: no Beam, no TensorFlow): 8-bit for
the network and for training (`pixels`, `decode_rgb`), and as the photo is kept for its colour copy (`master`:
16-bit stays 16-bit, alpha stays, an ICC profile's colours become sRGB).

Each failure is an `ImageError` with a one-line reason; the stages count and list them. What the
network sees of the decoded pixels is decided in `basics.view`.
"""
import functools
import io
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from basics.errors import UserError, reason_of

DEFAULT_MAX_PIXELS = 200_000_000  # decompression-bomb limit; a 50-megapixel scan passes
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")

# Pillow's own bomb check is a warning below 2x its limit; ours is a hard, configurable limit.
Image.MAX_IMAGE_PIXELS = None


class ImageError(UserError):
    """A photo that cannot be used; str() is the one-line reason."""


def is_image_name(path: str) -> bool:
    return path.lower().endswith(IMAGE_EXTENSIONS)


def open_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
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


def check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    w, h = size
    if w * h > max_pixels:
        raise ImageError(f"{w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} (decompression bomb?)")


def head_checker(max_pixels: int) -> Callable[[bytes], None]:
    """A check of a file's first bytes, before the rest is read (see sources.read_bounded).

    Refuses a file that no image format Pillow recognises by its signature starts like (a member of
    zeros that inflates to gigabytes is refused after one megabyte), and an image whose header,
    when it lies within those bytes, declares more pixels than allowed.
    """
    Image.init()
    accepts = [accept for _, accept in Image.OPEN.values() if accept is not None]

    def check(head: bytes) -> None:
        if not head:
            raise ImageError("empty file (0 bytes)")
        if not any(accept(head[:16]) for accept in accepts):
            raise ImageError("not a readable image: its first bytes match no image format")
        size = header_size(head)
        if size is not None:  # else the header reaches past the head: the whole file is read, then checked
            check_pixels(size, max_pixels)
    return check


def header_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) an image's header claims within its first bytes; None when they do not hold it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Image.open(io.BytesIO(head)).size
    except Exception:  # Pillow raises many types for a header it cannot read there
        return None


HEAD_BYTES = 1 << 20  # read first: enough for any image header we take, small beside any limit


def claimed_pixels(path: str) -> int | None:
    """The pixels a local photo's header claims (width x height of its first frame), from at most its first
    megabyte; None when that header cannot be read there (the file's own reading then says why)."""
    try:
        with open(path, "rb") as f:
            size = header_size(f.read(HEAD_BYTES))
    except OSError:  # unreadable: the photo's own reading lists it
        return None
    return size[0] * size[1] if size else None


def _flatten_alpha(im):
    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def to_upright(im: Image.Image, draft_size: int | None = None) -> Image.Image:
    """Loads pixels, applies EXIF orientation; `draft_size` lets JPEG decode at a reduced scale."""
    try:
        if draft_size and im.format == "JPEG":
            im.draft(im.mode if im.mode in ("RGB", "L") else None, (draft_size, draft_size))
        im.load()
        return ImageOps.exif_transpose(im)
    except ImageError:
        raise
    except Exception as e:  # Pillow raises many types for broken data
        why = reason_of(e)
        if why.startswith("image file is truncated"):  # Pillow's "(5 bytes not processed)" says nothing to a person
            why = "the file is cut short, its image data ends early (an interrupted copy or download?)"
        raise ImageError(f"cannot decode image: {why}") from None


def to_rgb(im: Image.Image) -> Image.Image:
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


def frames(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS,
           draft_size: int | None = None) -> Iterator[tuple[int, int, Image.Image]]:
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


def decode_rgb(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, draft_size: int | None = None) -> np.ndarray:
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


def pixels(im: Image.Image) -> np.ndarray:
    """An upright PIL image -> uint8 grey [H, W] (grey photos stay one channel) or RGB [H, W, 3]."""
    return np.asarray(im) if im.mode == "L" else np.asarray(to_rgb(im))


SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
# Modes LittleCMS converts with a profile; 16-bit and float pixels it cannot take (read as sRGB).
MANAGED_MODES = ("L", "LA", "RGB", "RGBA", "CMYK")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
SRGB_PROFILE = _SRGB.tobytes()  # embedded in every colour copy that can hold one: it describes their pixels
log = logging.getLogger("colorize")


class Master(NamedTuple):
    """A frame as its colour copy keeps it: `pixels` uint8 or uint16 (a 16-bit master), grey [H, W] or sRGB
    [H, W, 3]; `alpha` [H, W] of the same type, or None."""
    pixels: np.ndarray
    alpha: np.ndarray | None

    @property
    def bits(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8


def master(im: Image.Image) -> Master:
    """An upright image -> its Master: the pixels at their own depth, the alpha kept, colours that an ICC
    profile describes converted to sRGB (the one space the network's Lab maths and the colour copy use)."""
    alpha = None
    if im.mode in SIXTEEN_BIT_MODES or im.mode == "I":
        arr = np.asarray(im)
        if im.mode == "I" and arr.min() >= 0 and arr.max() <= 255:  # 32-bit integers holding 8-bit levels
            return Master(arr.astype(np.uint8), None)
        levels = np.clip(arr, 0, 65535).astype(np.uint16)
        icc = im.info.get("icc_profile")
        return Master(grey16_to_srgb(levels, icc) if icc else levels, None)
    if im.mode == "F":
        return Master(np.asarray(to_rgb(im).convert("L")), None)
    if im.mode in ("LA", "La", "PA", "RGBA", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("LA" if im.mode in ("LA", "La") else "RGBA")
        alpha = np.asarray(im.getchannel("A"))
        im = im.convert("L" if im.mode == "LA" else "RGB")
    elif im.mode not in ("L", "RGB", "CMYK"):
        im = im.convert("L" if im.mode in ("1", "P") and _is_grey_palette(im) else "RGB")
    im = to_srgb(im)
    return Master(np.asarray(im if im.mode in ("L", "RGB") else im.convert("RGB")), alpha)


def _is_grey_palette(im):
    if im.mode == "1":
        return True
    entries = np.asarray(im.getpalette() or [], np.int32).reshape(-1, 3)
    return bool(len(entries)) and bool((entries == entries[:, :1]).all())


def to_srgb(im: Image.Image) -> Image.Image:
    """Pixels an embedded ICC profile describes -> sRGB (grey with its own profile becomes RGB); untagged
    pixels, and those already sRGB, are taken as sRGB. A profile LittleCMS cannot read is logged and the
    pixels taken as sRGB: the photo is still coloured."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in MANAGED_MODES:
        return im.convert("RGB") if im.mode == "CMYK" else im
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(profile) or "").lower().replace(" ", ""):
            return im
        return ImageCms.profileToProfile(im, profile, _SRGB, outputMode="RGB")
    except Exception as e:  # LittleCMS raises PyCMSError, OSError, ValueError... for profiles it cannot use
        log.warning("an ICC profile that cannot be used (%s): its pixels are read as sRGB", reason_of(e))
        return im.convert("RGB") if im.mode == "CMYK" else im


def grey_curve(icc: bytes) -> Callable[[np.ndarray], np.ndarray] | None:
    """A grey ICC profile's tone curve, as a function from levels in [0, 1] to luminance Y in [0, 1]: its kTRC
    tag, a `curv` (none: identity; one gamma; or a table) or a `para` (the five parametric kinds of ICC.1:2010
    10.16). None for a profile that is not grey or whose curve cannot be read."""
    import struct
    try:
        if len(icc) < 132 or icc[16:20] != b"GRAY":
            return None
        (count,) = struct.unpack_from(">I", icc, 128)
        tags = {icc[132 + 12 * i:136 + 12 * i]: struct.unpack_from(">II", icc, 136 + 12 * i)
                for i in range(min(count, (len(icc) - 132) // 12))}
        if b"kTRC" not in tags:
            return None
        offset, size = tags[b"kTRC"]
        tag = icc[offset:offset + size]
        kind = tag[:4]
        if kind == b"curv":
            (n,) = struct.unpack_from(">I", tag, 8)
            if n == 0:
                return lambda x: x
            if n == 1:
                gamma = struct.unpack_from(">H", tag, 12)[0] / 256.0
                return lambda x: np.power(x, gamma)
            table = np.frombuffer(tag, ">u2", n, 12).astype(np.float64) / 65535.0
            return lambda x: np.interp(x, np.linspace(0.0, 1.0, n), table)
        if kind == b"para":
            (function,) = struct.unpack_from(">H", tag, 8)
            k = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[function]
            g, a, b, c, d, e, f = (list(v / 65536.0 for v in struct.unpack_from(f">{k}i", tag, 12)) + [0.0] * 7)[:7]
            if function == 0:
                a, b, d = 1.0, 0.0, 0.0
            elif function in (1, 2):
                e, d = (c if function == 2 else 0.0), -b / a
                c, f = 0.0, e
            return lambda x: np.where(x >= d, np.power(np.maximum(a * x + b, 0.0), g) + e, c * x + f)
    except (struct.error, KeyError, ValueError, ZeroDivisionError):
        return None  # a malformed profile: the caller says so and reads the pixels as sRGB
    return None


def _srgb_encode(y: np.ndarray) -> np.ndarray:
    return np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.power(np.maximum(y, 0.0031308), 1 / 2.4) - 0.055)


def grey16_to_srgb(levels: np.ndarray, icc: bytes) -> np.ndarray:
    """16-bit grey levels that a grey ICC profile describes -> the 16-bit sRGB grey levels of the same
    luminance (LittleCMS, as Pillow builds it, converts 8-bit pixels only). Through a table of 65,536 levels:
    no float copy of a large scan. A profile that is not a readable grey one is logged, the levels kept."""
    table = _grey16_table(icc)
    if table is None:
        log.warning("an ICC profile on 16-bit pixels that is not a grey tone curve: its pixels are read as sRGB")
        return levels
    return table[levels]


@functools.lru_cache(maxsize=8)
def _grey16_table(icc: bytes) -> np.ndarray | None:
    """A grey profile's 65,536-level table to sRGB, made once per profile (every page of a multi-page scan and
    every scan of one scanner share it)."""
    curve = grey_curve(icc)
    if curve is None:
        return None
    x = np.arange(65536, dtype=np.float64) / 65535.0
    return np.round(np.clip(_srgb_encode(np.clip(curve(x), 0.0, 1.0)), 0.0, 1.0) * 65535.0).astype(np.uint16)


def eight_bit(pixels: np.ndarray) -> np.ndarray:
    """uint16 levels -> the nearest uint8 levels (uint8 passes through): what the network and the gallery see
    of a 16-bit master."""
    if pixels.dtype == np.uint8:
        return pixels
    return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
