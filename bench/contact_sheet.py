"""Draws a contact sheet of photos from held-out sources: each photo's original, then each model's colorization of
its black-and-white version (the photo's own L, ab = 0), at full resolution through the path `colorize run` takes
(model.inference.colorize_pixels), shrunk for the page. One column a photo, one row a model.

    python bench/contact_sheet.py --images ../shared/data/photos/wikipedia_photos \\
        --images ../shared/data/photos/sun_hays80 --model model/default --model runs/new \\
        --label "model before" --label "new model" --count 12 --out docs/held_out_sheet.jpg

The photos are a fixed, spread-out selection (every k-th file by name), never chosen by how they come out.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from basics import photos  # noqa: E402

HEIGHT, GAP, LABEL = 150, 4, 110


def selection(folders, count):
    names = sorted(os.path.join(r, n) for f in folders for r, _, ns in os.walk(f) for n in ns
                   if photos.is_image_name(n))
    step = max(1, len(names) // count)
    return names[::step][:count]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", action="append", required=True, help="a held-out photo folder; repeatable")
    ap.add_argument("--model", action="append", required=True, help="a model directory; repeatable (one row each)")
    ap.add_argument("--label", action="append", default=[], help="each model's row label, in order")
    ap.add_argument("--count", type=int, default=12)
    ap.add_argument("--vividness", type=float, default=1.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    from model import inference, modeldir
    paths = selection(args.images, args.count)
    originals = []
    for p in paths:
        with open(p, "rb") as f:
            originals.append(photos.decode_rgb(f.read()))
    rows = [("original", originals)]
    for i, m in enumerate(args.model):
        model, card = modeldir.load(m)
        rows.append((args.label[i] if i < len(args.label) else m,
                     [inference.colorize_pixels(model, rgb, card["image_size"], vividness=args.vividness)
                      for rgb in originals]))
    widths = [round(rgb.shape[1] * HEIGHT / rgb.shape[0]) for rgb in originals]
    page = Image.new("RGB", (LABEL + sum(widths) + GAP * len(widths), len(rows) * (HEIGHT + GAP)), "white")
    draw = ImageDraw.Draw(page)
    for r, (label, images) in enumerate(rows):
        y = r * (HEIGHT + GAP)
        draw.text((4, y + HEIGHT // 2 - 6), label, fill="black")
        x = LABEL
        for rgb, w in zip(images, widths, strict=True):
            page.paste(Image.fromarray(np.asarray(rgb)).resize((w, HEIGHT), Image.LANCZOS), (x, y))
            x += w + GAP
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    page.save(args.out, quality=88)
    print(f"wrote {args.out}: {len(paths)} photos x {len(rows)} rows ({', '.join(os.path.basename(p) for p in paths)})")


if __name__ == "__main__":
    main()
