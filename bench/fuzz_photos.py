"""Makes the corpus of malformed photos the tests feed through every stage (tests/data/malformed/).

A small real photo is saved as JPEG, PNG, TIFF and WebP with an EXIF block, and as GIF and BMP; each copy gets
one to four random bytes in its first 400 changed (seeded, so the corpus is the same each time). Every
mutant goes through the colour copy's path (decode, the network's view skipped, merge, encode) and is kept
when it raises anything but the ImageError the decoder turns Pillow's usual complaints into: those are the
files an allowlist of error classes lets through (Pillow 12 raises struct.error from a broken EXIF block,
SyntaxError and TypeError from a broken TIFF header in EXIF or in a TIFF). A few that decode and a few that
give an ImageError are kept beside them, so a run over the corpus has every outcome.

    python bench/fuzz_photos.py tests/data/malformed
"""
import argparse
import collections
import io
import os
import random
import sys
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from basics import encoding, photos  # noqa: E402
from basics.lab import lightness  # noqa: E402
from model.inference import merge  # noqa: E402

FORMATS = [("JPEG", ".jpg", True), ("PNG", ".png", True), ("TIFF", ".tif", True), ("WEBP", ".webp", True),
           ("GIF", ".gif", False), ("BMP", ".bmp", False)]


def colour_copy(data):
    """The run's path from bytes to a colour copy, with a grey prediction: raises what a photo would raise."""
    n = getattr(photos.open_image(data), "n_frames", 1)
    opened = photos.open_image(data)
    frames = []
    for _, _, im in photos.frames(data):
        m = photos.master(im)
        frames.append(encoding.Frame(merge(lightness(m.pixels), np.zeros((8, 8, 2), np.float32), m.bits), m.alpha,
                                     encoding.exif_of(im, opened), None))
    assert len(frames) == n
    return encoding.encode(encoding.style_of(opened, data, photos.master(photos.to_upright(opened)).bits),
                           iter(frames))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--trials", type=int, default=300, help="mutants per format (default 300)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    src = Image.open(os.path.join(os.path.dirname(__file__), "..", "samples", "bw", "camera.jpg")).convert("L")
    src.thumbnail((96, 96))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Scanner"
    exif[0x0128] = 2  # ResolutionUnit: inch
    exif[0x0213] = 1  # YCbCrPositioning
    exif[0x8769] = {0x9003: "1931:05:04 10:00:00"}  # an Exif sub-IFD (date taken), as scanners write
    rng = random.Random(args.seed)
    kept, seen = [], collections.Counter()
    for fmt, ext, with_exif in FORMATS:
        buf = io.BytesIO()
        src.save(buf, fmt, **({"exif": exif.tobytes()} if with_exif else {}))
        original = buf.getvalue()
        for trial in range(args.trials):
            data = bytearray(original)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(min(len(data), 400))] = rng.randrange(256)
            data = bytes(data)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    colour_copy(data)
                    kind = "decodes"
                except photos.ImageError:
                    kind = "ImageError"
                except Exception as e:  # what the corpus is for: any other kind of error is kept
                    kind = type(e).__name__
            seen[kind] += 1
            seen[fmt, kind] += 1
            if kind not in ("decodes", "ImageError") or seen[fmt, kind] == 1:
                kept.append((f"{fmt.lower()}-{trial:03d}-{kind}{ext}", data))
    os.makedirs(args.out, exist_ok=True)
    for name, data in kept:
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
    kinds = {k: n for k, n in seen.items() if isinstance(k, str)}
    print(f"{len(kept)} files in {args.out}; outcomes of {sum(kinds.values())} mutants: {kinds}")


if __name__ == "__main__":
    main()
