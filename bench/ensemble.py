"""What averaging several models would buy: each classification model alone, and the mean of their bin
probabilities decoded once (an ensemble; the ceiling of distilling or weight-averaging them into one
model), on the validation split and the six sample photos, at several vividness settings.

    python bench/ensemble.py --models DIR DIR [DIR ...] [--data data/photos128] [--images data/sample_photos]
"""
import argparse

from common import QUALITY_HEADER, quality_cells


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", required=True, help="model directories: beta, classification head")
    ap.add_argument("--data", default="data/photos128")
    ap.add_argument("--images", default="data/sample_photos")
    ap.add_argument("--vividness", type=float, nargs="+", default=[1.0, 1.1, 1.2])
    args = ap.parse_args()
    import keras
    from keras import layers

    from commands.evaluate import photos_in
    from model import modeldir, quantized
    from tfrecords import contract as c
    loaded = [modeldir.load(d) for d in args.models]
    cards = [card for _, card in loaded]
    if any(card.get("head") != "classification" or card["architecture"] != "beta" for card in cards) or \
            len({card["image_size"] for card in cards}) != 1:
        raise SystemExit("an ensemble is measured on beta models with the classification head, of one image size")
    card, size = cards[0], cards[0]["image_size"]
    l_in = keras.Input((size, size, 1), name="l")
    probs = [keras.Model(m.input, m.get_layer("annealed_mean").input, name=f"member{i}")(l_in)
             for i, (m, _) in enumerate(loaded)]
    temperature = loaded[0][0].get_layer("annealed_mean").temperature
    members = [(d, keras.Model(l_in, p)) for d, p in zip(args.models, probs, strict=True)]
    members.append((f"mean of the {len(probs)}", keras.Model(l_in, layers.Average(name="ensemble")(probs))))
    info = c.read_dataset_json(args.data)
    samples = list(photos_in(args.images))
    print(f"T {temperature}")
    print(f"| model | vividness | {QUALITY_HEADER}")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, trained in members:
        decoded = quantized.inference_model(trained, temperature)
        for v in args.vividness:
            print(f"| {name} | {v} | {quality_cells(decoded, card, args.data, info, samples, args.images, v)[0]}",
                  flush=True)


if __name__ == "__main__":
    main()
