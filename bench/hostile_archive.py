"""Benchmark: peak memory of the whole process tree of `colorize run` over a hostile archive, beside an
ordinary one.

    python bench/hostile_archive.py [--photos ../shared/data/photos] [--n 48] [--gib 1.5]

The same zip of N real photos is run four ways, each in a fresh output folder, on every core:
  ordinary      the photos alone;
  honest bomb   plus one member of GIB gibibytes of zeros named huge.jpg (a few MB compressed), its size
                declared truly in the zip's directory: refused from the directory (over --max-file-mb);
  lying bomb    the same member with its declared size rewritten to 4000 bytes: zipfile stops at the
                declared size, and the member is refused from its first bytes;
  under limit   the honest bomb with --max-file-mb raised above its size: refused after its first
                megabyte, which no image format starts like.
"""
import argparse
import json
import os
import sys
import tempfile
import zipfile

import common

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from fixtures.inputs import lie_about_size  # noqa: E402  (the test suite crafts the same lying zips)


def make_zip(path, photos, bomb_bytes=0):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for i, p in enumerate(photos):
            z.write(p, f"album/{i:05d}_{os.path.basename(p)}")
        if bomb_bytes:
            with z.open("huge.jpg", "w", force_zip64=True) as f:
                block = bytes(1 << 24)
                for _ in range(bomb_bytes // len(block)):
                    f.write(block)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=common.DEFAULT_PHOTOS)
    ap.add_argument("--n", type=int, default=48)
    ap.add_argument("--gib", type=float, default=1.5)
    args = ap.parse_args()
    print(common.machine())
    photos = common.photo_paths(args.photos, args.n)
    bomb = int(args.gib * 2**30)
    with tempfile.TemporaryDirectory() as work:
        ordinary = make_zip(os.path.join(work, "ordinary.zip"), photos)
        honest = make_zip(os.path.join(work, "honest.zip"), photos, bomb)
        liar = make_zip(os.path.join(work, "liar.zip"), photos, bomb)
        lie_about_size(liar, "huge.jpg", 4000)
        cases = [("ordinary", ordinary, []), ("honest bomb", honest, []), ("lying bomb", liar, []),
                 ("under limit", honest, ["--max-file-mb", str(int(args.gib * 1024) + 512)])]
        print(f"{args.n} photos; bomb member: {bomb / 2**30:.2f} GiB of zeros, "
              f"zip {os.path.getsize(honest) / 2**20:.1f} MiB (ordinary zip {os.path.getsize(ordinary) / 2**20:.1f} MiB)")
        print(f"{'case':<12} {'seconds':>8} {'peak MiB (all processes)':>25}  outcome")
        for name, archive, extra in cases:
            out = os.path.join(work, f"out-{name.replace(' ', '-')}")
            seconds, peak, _ = common.timed_command(common.colorize_cmd(
                "run", "--input", archive, "--output", out, *extra))
            with open(os.path.join(out, "_report.json")) as f:
                n = json.load(f)["counts"]
            reasons = [json.loads(line)["reason"] for line in open(os.path.join(out, "_failures.jsonl"))]
            print(f"{name:<12} {seconds:>8.1f} {peak:>25.0f}  colorized {n['colorized']}, failed {n['failed']}"
                  + (f": {reasons[0]}" if reasons else ""))


if __name__ == "__main__":
    main()
