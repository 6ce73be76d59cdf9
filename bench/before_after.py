"""Draws docs/before_after.jpg from the bundled photos and their colour copies.

    colorize run --input samples/bw --output samples/colour && python bench/before_after.py
"""
import os

from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NAMES = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins")
HEIGHT = 200


def main():
    pairs = []
    for name in NAMES:
        before = Image.open(os.path.join(ROOT, "samples", "bw", f"{name}.jpg")).convert("RGB")
        after = Image.open(os.path.join(ROOT, "samples", "colour", f"{name}.jpg")).convert("RGB")
        w = round(before.width * HEIGHT / before.height)
        pairs.append((before.resize((w, HEIGHT), Image.LANCZOS), after.resize((w, HEIGHT), Image.LANCZOS)))
    width = sum(b.width for b, _ in pairs) + 4 * (len(pairs) - 1)
    sheet = Image.new("RGB", (width, 2 * HEIGHT + 4), "white")
    x = 0
    for before, after in pairs:
        sheet.paste(before, (x, 0))
        sheet.paste(after, (x, HEIGHT + 4))
        x += before.width + 4
    os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
    sheet.save(os.path.join(ROOT, "docs", "before_after.jpg"), quality=88)


if __name__ == "__main__":
    main()
