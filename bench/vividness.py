"""The vividness control measured: AuC, acc@10 and colourfulness at several settings, on the validation
split and the six sample photos, and a picture strip of one photo at each setting.

    python bench/vividness.py --data data/photos128 --images data/sample_photos [--out docs/vividness.jpg]

(records: `colorize preprocess --input ../shared/data/photos --output data/photos128 --image-size 128
--embedding none --val-fraction 0.1`; photos: `python bench/sample_photos.py data/sample_photos`.)
"""
import argparse
import os

from PIL import Image, ImageDraw

SETTINGS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/photos128")
    ap.add_argument("--images", default="data/sample_photos")
    ap.add_argument("--strip-photo", default="samples/bw/chelsea.jpg")
    ap.add_argument("--out", default="docs/vividness.jpg")
    args = ap.parse_args()
    from commands.evaluate import photos_in
    from model import evaluate, inference, modeldir
    from tfrecords import contract as c
    from basics.photos import decode_rgb
    model, card = modeldir.load(None)
    info = c.read_dataset_json(args.data)
    print("| vividness | validation AuC | acc@10 | colourfulness | sample photos AuC | acc@10 | colourfulness |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for v in SETTINGS:
        val = evaluate.on_records(model, card, args.data, "val", info, vividness=v)
        photos = evaluate.on_photos(model, card, photos_in(args.images), args.images, vividness=v)
        cells = [f"{r['model'][k]:.2f}" for r in (val, photos) for k in ("auc", "acc@10", "colourfulness")]
        print(f"| {v} | " + " | ".join(cells) + " |")
    print(f"originals' colourfulness: validation {val['original']['colourfulness']:.2f}, "
          f"sample photos {photos['original']['colourfulness']:.2f}; grayscale AuC {val['grayscale_baseline']['auc']:.2f}"
          f" / {photos['grayscale_baseline']['auc']:.2f}")
    with open(args.strip_photo, "rb") as f:
        pixels = decode_rgb(f.read())
    tiles = []
    for v in SETTINGS:
        tile = Image.fromarray(inference.colorize_pixels(model, pixels, card["image_size"], vividness=v))
        tile.thumbnail((300, 300))
        ImageDraw.Draw(tile).text((8, 8), f"vividness {v}", fill=(255, 255, 255))
        tiles.append(tile)
    strip = Image.new("RGB", (sum(t.width for t in tiles), max(t.height for t in tiles)), "white")
    x = 0
    for t in tiles:
        strip.paste(t, (x, 0))
        x += t.width
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    strip.save(args.out, quality=88)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
