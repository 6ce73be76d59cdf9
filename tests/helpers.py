"""Test inputs: real photos that ship with scikit-image / scikit-learn, and broken inputs made from them."""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

from fixtures.inputs import lie_about_size, real_photos  # noqa: F401  (the benchmarks make the same inputs)
from commands import preprocess as preprocess_command

def jpeg_bytes(rgb, **kw):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=92, **kw)
    return buf.getvalue()


def png_bytes(im):
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def bomb_png(width=50_000, height=50_000):
    """A valid PNG header declaring a huge image, with almost no data: a decompression bomb."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def rotated_jpeg(rgb):
    """A JPEG stored sideways with EXIF orientation 6 (display rotated 90 degrees clockwise)."""
    stored = np.ascontiguousarray(np.rot90(rgb, k=1))  # what a camera held sideways writes
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg_bytes(stored, exif=exif.tobytes())


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def bad_inputs(photos):
    """{relative path: bytes} of every awkward input the stages must survive."""
    chelsea, coffee = photos["chelsea"], photos["coffee"]
    full = jpeg_bytes(coffee)
    rgba = Image.fromarray(chelsea).convert("RGBA")
    rgba.putalpha(128)
    sixteen = Image.fromarray(photos["astronaut"][..., 1].astype(np.uint16) * 257)
    return {
        "broken/zero.jpg": b"",
        "broken/truncated.jpg": full[: len(full) // 3],
        "broken/text.jpg": b"this is a text file, not a photo\n",
        "broken/bomb.png": bomb_png(),
        "notes/readme.txt": b"captions for the photos\n",
        "modes/alpha.png": png_bytes(rgba),
        "modes/palette.gif": png_to_gif(photos["flower"]),
        "modes/sixteen_bit.png": png_bytes(sixteen),
        "modes/cmyk.jpg": cmyk_jpeg(photos["china"]),
        "modes/rotated.jpg": rotated_jpeg(chelsea),
        "modes/greyscale.jpg": jpeg_bytes(np.asarray(Image.fromarray(coffee).convert("L").convert("RGB"))),
        "modes/tiny.png": png_bytes(Image.fromarray(chelsea).resize((24, 20))),
        "names/with space é ü.jpg": jpeg_bytes(photos["rocket"]),
    }


def png_to_gif(rgb):
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE).save(buf, "GIF")
    return buf.getvalue()


def cmyk_jpeg(rgb):
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(buf, "JPEG", quality=92)
    return buf.getvalue()


def mirrored_records(photos, photo_root, out, *preprocess_args):
    """Writes each photo and its mirror image under photo_root, and runs the real preprocess pipeline
    (in-process Beam) on them into out: twelve records from the six sample photos."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.test_pipeline import TestPipeline
    for name, rgb in photos.items():
        write(os.path.join(photo_root, f"{name}.jpg"), jpeg_bytes(rgb))
        write(os.path.join(photo_root, f"{name}_mirror.jpg"), jpeg_bytes(rgb[:, ::-1].copy()))
    preprocess_command.job(["--input", str(photo_root), "--output", str(out), *preprocess_args],
                   test_pipeline=TestPipeline(runner=FnApiRunner()))
    return out




def grey_icc_profile(gamma=2.2, name="Gray Gamma 2.2", curve=None):
    """An ICC v2 monitor profile for grey pixels with a pure gamma curve, byte by byte (the ICC.1:2001 layout),
    as scanners embed in grey masters: LittleCMS reads it like any other. `curve`: another kTRC tag's bytes."""
    import struct

    def s15(x):
        return struct.pack(">i", round(x * 65536))

    def pad(b):
        return b + b"\0" * (-len(b) % 4)
    text = name.encode("ascii")
    tags = [(b"desc", b"desc\0\0\0\0" + struct.pack(">I", len(text) + 1) + text + b"\0" + b"\0" * 8 + b"\0\0\0"
             + b"\0" * 67),
            (b"wtpt", b"XYZ \0\0\0\0" + s15(0.9642) + s15(1.0) + s15(0.8249)),
            (b"kTRC", curve or b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))),
            (b"cprt", b"text\0\0\0\0" + b"No copyright, use freely\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = [], b""
    for sig, data in tags:
        table.append(sig + struct.pack(">II", offset + len(body), len(data)))
        body += pad(data)
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + bytes([2, 0x10, 0, 0]) + b"mntrGRAYXYZ " + b"\0" * 12 + b"acsp"
              + b"\0" * 24 + b"\0" * 4 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(table) + body
