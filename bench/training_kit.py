"""Writes a compact copy of photo folders for a training machine: each photo's centre square, as
`colorize preprocess` would cut it at --size, saved as JPEG under the same relative path, so
`c.split_of` puts every photo in the same split as the records made from the full-size originals.

    python bench/training_kit.py --photos photos=../shared/data/photos --photos more=../shared/data/photos-more \\
        --size 192 --out .gpu/kit192

bench/train_sweep.py builds its training arrays from such a kit (view.training_example of a square at the
kit's size is that square: the only loss is the JPEG's, at quality 90, chroma at half resolution).
"""
import argparse
import io
import os
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from basics import photos, view  # noqa: E402


def _one(job):
    src, dest, size, quality, subsampling = job
    try:
        with open(src, "rb") as f:
            rgb = photos.decode_rgb(f.read())
    except Exception as e:  # noqa: BLE001 - any photo that will not decode is counted, never fatal
        return src, f"{type(e).__name__}: {e}"
    if min(rgb.shape[:2]) < 32:
        return src, "too small"
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray(np.asarray(view.square(rgb, size, view.TRAINING_VIEW))).save(
        buf, "JPEG", quality=quality, subsampling=subsampling)
    with open(dest, "wb") as f:
        f.write(buf.getvalue())
    return src, None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", action="append", required=True, help="NAME=FOLDER; repeatable")
    p.add_argument("--size", type=int, default=192)
    p.add_argument("--quality", type=int, default=90)
    p.add_argument("--subsampling", type=int, choices=(0, 2), default=2,
                   help="JPEG chroma: 2 (default) halves it, as the classification loss, which sees ab averaged "
                        "2x2, does anyway; 0 keeps it whole")
    p.add_argument("--out", required=True)
    p.add_argument("--workers", type=int, default=os.cpu_count())
    args = p.parse_args(argv)
    jobs = []
    for item in args.photos:
        name, folder = item.split("=", 1)
        for root, _, names in os.walk(folder):
            for n in sorted(names):
                path = os.path.join(root, n)
                if photos.is_image_name(path):
                    jobs.append((path, os.path.join(args.out, name, os.path.relpath(path, folder)), args.size,
                                 args.quality, args.subsampling))
    failed = 0
    with ProcessPoolExecutor(args.workers) as pool:
        for src, why in pool.map(_one, jobs, chunksize=16):
            if why:
                failed += 1
                print(f"skipped {src}: {why}")
    total = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(args.out) for n in ns)
    print(f"{len(jobs) - failed} photos written, {failed} skipped, {total / 2**20:.1f} MiB in {args.out}")


if __name__ == "__main__":
    main()
