"""Test inputs: real photos that ship with scikit-image / scikit-learn, and broken inputs made from them."""
import io
import os
import re
import struct
import zlib

import numpy as np
from PIL import Image

def real_photos():
    """{name: uint8 RGB} of the six colour photos that scikit-image and scikit-learn ship."""
    import skimage.data
    from sklearn.datasets import load_sample_images
    photos = {n: getattr(skimage.data, n)() for n in ("astronaut", "chelsea", "coffee", "rocket")}
    sk = load_sample_images()
    for path, img in zip(sk.filenames, sk.images, strict=True):
        photos[os.path.splitext(os.path.basename(path))[0]] = img
    return photos


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
    from pipeline import preprocess
    for name, rgb in photos.items():
        write(os.path.join(photo_root, f"{name}.jpg"), jpeg_bytes(rgb))
        write(os.path.join(photo_root, f"{name}_mirror.jpg"), jpeg_bytes(rgb[:, ::-1].copy()))
    preprocess.run(["--input", str(photo_root), "--output", str(out), *preprocess_args],
                   test_pipeline=TestPipeline(runner=FnApiRunner()))
    return out


def lie_about_size(path, name, declared):
    """Rewrites a zip member's uncompressed size, in its local header, central directory and zip64
    field, to `declared`: an archive that lies about what a member inflates to."""
    data = bytearray(open(path, "rb").read())
    encoded = name.encode()
    for sig, size_at, name_len_at, name_at in ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46)):
        for m in re.finditer(re.escape(sig), data):
            i = m.start()
            n = int.from_bytes(data[i + name_len_at:i + name_len_at + 2], "little")
            if bytes(data[i + name_at:i + name_at + n]) != encoded:
                continue
            if data[i + size_at:i + size_at + 4] != b"\xff" * 4:  # not deferred to the zip64 field
                data[i + size_at:i + size_at + 4] = declared.to_bytes(4, "little")
            extra_len = int.from_bytes(data[i + name_len_at + 2:i + name_len_at + 4], "little")
            j = i + name_at + n
            while j < i + name_at + n + extra_len:  # the zip64 field: the uncompressed size comes first
                tag, size = int.from_bytes(data[j:j + 2], "little"), int.from_bytes(data[j + 2:j + 4], "little")
                if tag == 1:
                    data[j + 4:j + 12] = declared.to_bytes(8, "little")
                j += 4 + size
    open(path, "wb").write(bytes(data))
