"""Writes the six colour photos scikit-image and scikit-learn ship into a folder (needs the [test] extra).

    python bench/sample_photos.py data/sample_photos
"""
import argparse
import os

from PIL import Image


def main(out):
    import skimage.data
    from sklearn.datasets import load_sample_images
    os.makedirs(out, exist_ok=True)
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        Image.fromarray(getattr(skimage.data, name)()).save(os.path.join(out, f"{name}.png"))
    sk = load_sample_images()
    for path, img in zip(sk.filenames, sk.images, strict=True):
        Image.fromarray(img).save(os.path.join(out, os.path.basename(path).replace(".jpg", ".png")))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="data/sample_photos", help="folder to write (default data/sample_photos)")
    main(ap.parse_args().out)
