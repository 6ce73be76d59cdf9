"""Flip averaging measured: a classification model decoded as trained, and with its bin probabilities
averaged over the photo and its mirror image (`model.quantized.inference_model(flip_average=True)`),
on the validation split and the six sample photos, at two vividness settings; and what it costs.

    python bench/flip_average.py [--model DIR] [--data data/photos128] [--images data/sample_photos]
"""
import argparse

from common import QUALITY_HEADER, quality_cells
from run import model_bound  # the forward rate as `colorize run` compiles it


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--data", default="data/photos128")
    ap.add_argument("--images", default="data/sample_photos")
    ap.add_argument("--vividness", type=float, nargs="+", default=[1.0, 1.2])
    args = ap.parse_args()
    import keras

    from commands.evaluate import photos_in
    from model import modeldir, quantized
    from tfrecords import contract as c
    model, card = modeldir.load(args.model)
    if card.get("head") != "classification" or card["architecture"] != "beta":
        raise SystemExit("flip averaging is measured on beta models with the classification head")
    decoding = model.get_layer("annealed_mean")
    probs = keras.Model(model.input, decoding.input)
    info = c.read_dataset_json(args.data)
    samples = list(photos_in(args.images))  # read once, scored at every setting
    print(f"| decoding | vividness | {QUALITY_HEADER}")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rates = {}
    for flip in (False, True):
        decoded = quantized.inference_model(probs, decoding.temperature, decoding.vividness, flip_average=flip)
        rates[flip] = model_bound(decoded, card, 16)
        for v in args.vividness:
            cells, val, smp = quality_cells(decoded, card, args.data, info, samples, args.images, v)
            print(f"| {'flip-averaged' if flip else 'as trained'} | {v} | {cells}", flush=True)
    print(f"originals' colourfulness: validation {val['original']['colourfulness']:.2f}; grayscale AuC "
          f"{val['grayscale_baseline']['auc']:.2f} / samples {smp['grayscale_baseline']['auc']:.2f}")
    print(f"forward pass at batch 16: as trained {rates[False]:.1f} images/s, flip-averaged {rates[True]:.1f} "
          f"({rates[False] / rates[True]:.2f}x the time)")


if __name__ == "__main__":
    main()
