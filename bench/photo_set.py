"""Writes N distinct JPEG photos made from a few source photos (random crops of 50-100 % of each side, some
scaled up to 2x): a benchmark set of any size from a handful of photos that travel. The sources are the six
sample photos scikit-image and scikit-learn ship, or the photos of --sources (a machine without those packages).
Photo i depends on i alone (its own seeded generator), so a set is the same whatever the number of cores.

    python bench/photo_set.py OUT_FOLDER N [--sources FOLDER]
"""
import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

_SOURCES = None


def _sources(folder):
    """[(name, uint8 RGB)]: the photos of folder, sorted by name, else the six the packages ship."""
    if folder is None:
        from fixtures.inputs import real_photos
        return list(real_photos().items())
    found = []
    for name in sorted(os.listdir(folder)):
        with Image.open(os.path.join(folder, name)) as im:
            found.append((os.path.splitext(name)[0], np.asarray(im.convert("RGB"))))
    if not found:
        sys.exit(f"{folder} holds no photos")
    return found


def _one(args):
    """Writes photo i; returns its pixel count."""
    global _SOURCES
    out, i, folder = args
    if _SOURCES is None:
        _SOURCES = _sources(folder)
    rng = np.random.default_rng([0, i])
    name, rgb = _SOURCES[i % len(_SOURCES)]
    h, w = rgb.shape[:2]
    ch, cw = int(h * rng.uniform(0.5, 1)), int(w * rng.uniform(0.5, 1))
    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    im = Image.fromarray(rgb[y:y + ch, x:x + cw])
    scale = rng.choice([1.0, 1.0, 1.5, 2.0])
    im = im.resize((int(cw * scale), int(ch * scale)), Image.LANCZOS) if scale != 1 else im
    im.save(os.path.join(out, f"{i:05d}_{name}.jpg"), "JPEG", quality=90)
    return im.size[0] * im.size[1]


def main(out, n, sources=None):
    os.makedirs(out, exist_ok=True)
    with ProcessPoolExecutor() as pool:
        total = sum(pool.map(_one, [(out, i, sources) for i in range(n)], chunksize=32))
    print(f"{n} photos in {out}, mean {total / n / 1e6:.2f} MP")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--sources", help="folder of photos to cut the set from (default: the six packaged photos)")
    a = ap.parse_args()
    main(a.out, a.n, a.sources)
