"""Draws docs/before_after.jpg from the bundled photos and their colour copies; with --before, also
docs/before_now.jpg: the photos, another model's colour copies (the model shipped before), and this one's.

    colorize run --input samples/bw --output samples/colour && python bench/before_after.py
    colorize run --model OLD_MODEL --input samples/bw --output runs/colour-before && \\
        python bench/before_after.py --before runs/colour-before
"""
import argparse
import os

from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NAMES = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins")
HEIGHT = 200
GAP = 4


def _row(folder):
    out = []
    for name in NAMES:
        im = Image.open(os.path.join(folder, f"{name}.jpg")).convert("RGB")
        out.append(im.resize((round(im.width * HEIGHT / im.height), HEIGHT), Image.LANCZOS))
    return out


def sheet(folders, path):
    rows = [_row(f) for f in folders]
    width = sum(im.width for im in rows[0]) + GAP * (len(NAMES) - 1)
    page = Image.new("RGB", (width, len(rows) * (HEIGHT + GAP) - GAP), "white")
    for r, row in enumerate(rows):
        x = 0
        for im in row:
            page.paste(im, (x, r * (HEIGHT + GAP)))
            x += im.width + GAP
    os.makedirs(os.path.dirname(path), exist_ok=True)
    page.save(path, quality=88)
    print(f"wrote {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="folder of another model's colour copies of samples/bw")
    args = ap.parse_args(argv)
    bw, colour = os.path.join(ROOT, "samples", "bw"), os.path.join(ROOT, "samples", "colour")
    sheet([bw, colour], os.path.join(ROOT, "docs", "before_after.jpg"))
    if args.before:
        sheet([bw, args.before, colour], os.path.join(ROOT, "docs", "before_now.jpg"))


if __name__ == "__main__":
    main()
