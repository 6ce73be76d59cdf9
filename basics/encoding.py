"""Encoding a colour copy in its input's format, keeping what the input chose: depth (a 16-bit master gives a
16-bit copy), alpha, resolution (DPI), EXIF, progressive JPEG, lossy or lossless WebP, TIFF compression; and an
sRGB ICC profile, which is what the copy's pixels are (PIL, NumPy and tifffile only).

    input bytes --style_of--> Style (format, bits kept, dpi, progressive, lossless, compression)
    [Frame(colour, alpha, exif, duration)] + Style --encode--> bytes
        16-bit PNG -> png16 (Pillow writes no 16-bit RGB PNG);  16-bit TIFF -> tifffile;  the rest -> Pillow

What no format can keep is said in docs/run.md's table: 8-bit formats stay 8-bit, a GIF becomes a PNG, a
1-bit or G3/G4 TIFF becomes an LZW one, a 16-bit TIFF keeps its descriptive tags but no other EXIF.
"""
import io
import struct
import zlib
from typing import Iterator, NamedTuple

import numpy as np
from PIL import Image

from basics.photos import SRGB_PROFILE

JPEG_QUALITY = 95
WEBP_LOSSY_QUALITY = 92  # a lossy WebP stays lossy: a lossless copy of one is five times its size
# Pillow format -> save format; a GIF holds 256 colours, so colour copies of GIFs are PNG (animated: APNG)
SAVE_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "BMP": "BMP", "WEBP": "WEBP", "GIF": "PNG",
                "MPO": "MPO"}
ALPHA_FORMATS = ("PNG", "TIFF", "WEBP")  # BMP's alpha Pillow neither reads nor writes back
# TIFF compressions a colour copy can keep; others (1-bit G3/G4, old JPEG) become LZW, which is lossless.
TIFF_COMPRESSIONS = ("raw", "tiff_lzw", "tiff_adobe_deflate", "packbits", "jpeg", "tiff_deflate")
_METADATA_FORMATS = ("JPEG", "MPO", "PNG", "TIFF", "WEBP")  # those that hold an ICC profile and EXIF


class Style(NamedTuple):
    """What an input chose that its colour copy keeps."""
    format: str               # the save format
    bits: int                 # 16: the input is a 16-bit master and the format holds 16 bits
    dpi: tuple | None
    progressive: bool         # JPEG
    lossless: bool            # WebP
    compression: str | None   # TIFF


class Frame(NamedTuple):
    """One frame of a colour copy: uint8 or uint16 sRGB [H, W, 3], alpha [H, W] or None."""
    colour: np.ndarray
    alpha: np.ndarray | None
    exif: bytes | None
    duration: int | None


def style_of(im: Image.Image, data: bytes, bits: int) -> Style:
    """An opened input (`data` its bytes) whose first frame decoded to `bits`-bit pixels -> its Style."""
    fmt = SAVE_FORMATS.get(im.format, "PNG")
    dpi = im.info.get("dpi")
    if dpi is not None:
        try:
            dpi = tuple(float(d) for d in dpi)
            dpi = dpi if len(dpi) == 2 and all(0 < d < 1e6 for d in dpi) else None
        except (TypeError, ValueError):  # a resolution tag that is not two numbers: the copy goes without one
            dpi = None
    compression = im.info.get("compression") if fmt == "TIFF" else None
    return Style(format=fmt, bits=16 if bits == 16 and fmt in ("PNG", "TIFF") else 8, dpi=dpi,
                 progressive=bool(im.info.get("progressive") or im.info.get("progression")),
                 lossless=fmt == "WEBP" and webp_is_lossless(data),
                 compression=compression if compression in TIFF_COMPRESSIONS else "tiff_lzw")


# A TIFF's own tags that describe the photo (not its layout): what its colour copy carries as its EXIF.
TIFF_DESCRIPTIVE_TAGS = (270, 271, 272, 305, 306, 315, 33432)  # description, make, model, software, date, artist, (c)


def exif_of(frame: Image.Image, source: Image.Image) -> bytes | None:
    """The EXIF a frame's copy carries (its orientation already applied to the pixels). A TIFF's are tags of
    its own, which exif_transpose does not carry over: its descriptive ones are taken from `source`, the
    opened file."""
    exif = frame.getexif()
    if source.format == "TIFF":
        exif = Image.Exif()
        for tag in TIFF_DESCRIPTIVE_TAGS:
            if (value := source.getexif().get(tag)) is not None:
                exif[tag] = value
    exif.pop(0x0112, None)  # Orientation: exif_transpose applied it; a stale one would turn the copy again
    return exif.tobytes() if len(exif) else None


def webp_is_lossless(data: bytes) -> bool:
    """Whether a WebP's (first) image is VP8L (lossless) rather than VP8 (lossy), from its RIFF chunks."""
    pos, end = 12, min(len(data), 1 << 20)
    while pos + 8 <= end:
        fourcc, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if fourcc in (b"VP8L", b"VP8 "):
            return fourcc == b"VP8L"
        if fourcc == b"ANMF":  # an animation's frame: 16 bytes of its own header, then its image's chunks
            pos += 8 + 16
            continue
        pos += 8 + size + (size & 1)
    return True  # no image chunk found early: lossless loses nothing


def encode(style: Style, frames: Iterator[Frame]) -> bytes:
    """Colour frames (one at a time from an iterator) -> the copy's bytes; several frames: every one."""
    if style.bits == 16 and style.format == "PNG":
        first = next(frames)
        return png16(first.colour, first.alpha, style.dpi, first.exif)
    if style.bits == 16:
        return tiff16(frames, style.dpi)
    return _pillow(style, frames)


def _image(frame: Frame, fmt: str) -> Image.Image:
    colour = frame.colour if frame.colour.dtype == np.uint8 else (frame.colour >> 8).astype(np.uint8)
    if frame.alpha is not None and fmt in ALPHA_FORMATS:
        return Image.fromarray(np.dstack([colour, frame.alpha]), "RGBA")
    return Image.fromarray(colour, "RGB")


def _pillow(style: Style, frames: Iterator[Frame]) -> bytes:
    fmt = style.format
    first = next(frames)
    extra = {}
    if fmt in ("JPEG", "MPO"):
        extra.update(quality=JPEG_QUALITY, subsampling=0, progressive=style.progressive)
    elif fmt == "TIFF":
        extra.update(compression=style.compression)
        if style.compression == "jpeg":
            extra.update(quality=JPEG_QUALITY)
    elif fmt == "WEBP":
        extra.update(lossless=True) if style.lossless else extra.update(quality=WEBP_LOSSY_QUALITY, method=4)
    if style.dpi and fmt in ("JPEG", "MPO", "PNG", "TIFF", "BMP"):
        extra["dpi"] = tuple(round(d) for d in style.dpi) if fmt in ("JPEG", "MPO", "BMP") else style.dpi
    if fmt in _METADATA_FORMATS:
        extra["icc_profile"] = SRGB_PROFILE
        if first.exif:
            extra["exif"] = first.exif
    rest = [(_image(f, fmt), f.duration) for f in frames]
    if rest:
        extra.update(save_all=True, append_images=[im for im, _ in rest])
        if fmt in ("PNG", "WEBP"):
            extra.update(duration=[first.duration or 100] + [d or 100 for _, d in rest], loop=0)
    buf = io.BytesIO()
    _image(first, fmt).save(buf, fmt, **extra)
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


PNG_ROWS = 256  # rows filtered and compressed at a time: the copy's bytes and a block, never a second copy


def png16(colour: np.ndarray, alpha: np.ndarray | None = None, dpi: tuple | None = None,
          exif: bytes | None = None) -> bytes:
    """uint16 RGB [H, W, 3] (+ alpha) -> a 16-bit PNG with an sRGB profile, its DPI (pHYs) and EXIF (eXIf).
    Rows use PNG's Sub filter, which on photographs compresses far better than none."""
    h, w = colour.shape[:2]
    channels = 3 if alpha is None else 4
    head = struct.pack(">IIBBBBB", w, h, 16, 2 if alpha is None else 6, 0, 0, 0)
    out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", head),
           _chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(SRGB_PROFILE))]
    if dpi:
        out.append(_chunk(b"pHYs", struct.pack(">IIB", round(dpi[0] / 0.0254), round(dpi[1] / 0.0254), 1)))
    if exif:
        out.append(_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif))
    bpp = channels * 2
    z = zlib.compressobj(6)
    idat = []
    for y in range(0, h, PNG_ROWS):
        block = colour[y:y + PNG_ROWS]
        if alpha is not None:
            block = np.dstack([block, alpha[y:y + PNG_ROWS]])
        rows = np.ascontiguousarray(block, ">u2").view(np.uint8).reshape(len(block), w * bpp)
        filtered = np.empty((len(block), 1 + w * bpp), np.uint8)
        filtered[:, 0] = 1  # Sub: each byte minus the byte one pixel to its left
        filtered[:, 1:1 + bpp] = rows[:, :bpp]
        np.subtract(rows[:, bpp:], rows[:, :-bpp], out=filtered[:, 1 + bpp:])
        idat.append(z.compress(filtered.tobytes()))
    idat.append(z.flush())
    data = b"".join(idat)
    out += [_chunk(b"IDAT", data[i:i + (1 << 20)]) for i in range(0, len(data), 1 << 20)]
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def tiff16(frames: Iterator[Frame], dpi: tuple | None) -> bytes:
    """uint16 frames -> a 16-bit RGB(A) TIFF, a page a frame, Deflate-compressed with the horizontal
    predictor (lossless), with its DPI and an sRGB profile."""
    import tifffile
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tiff:
        for f in frames:
            pixels = f.colour if f.alpha is None else np.dstack([f.colour, f.alpha.astype(np.uint16)])
            tiff.write(pixels, photometric="rgb", compression="zlib", predictor=True, metadata=None, software=False,
                       iccprofile=SRGB_PROFILE, extrasamples=None if f.alpha is None else ["unassalpha"],
                       extratags=tiff_tags(f.exif), **({"resolution": dpi, "resolutionunit": "INCH"} if dpi else {}))
    return buf.getvalue()


def tiff_tags(exif: bytes | None) -> list[tuple]:
    """A TIFF input's descriptive tags (exif_of: description, make, model, software, date, artist, copyright) as
    tifffile's extratags, byte for byte: Pillow reads a TIFF string's bytes as Latin-1, so encoding it back so
    gives the input's own bytes (UTF-8 ones included), which tifffile's 7-bit check would otherwise refuse."""
    if not exif:
        return []
    tags = Image.Exif()
    tags.load(exif)
    kept = []
    for tag in TIFF_DESCRIPTIVE_TAGS:
        value = tags.get(tag)
        if isinstance(value, str):
            try:
                raw = value.encode("latin-1")
            except UnicodeEncodeError:
                raw = value.encode("utf-8")
            kept.append((tag, "s", 0, raw, True))
    return kept
