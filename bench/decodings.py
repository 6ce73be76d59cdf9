"""One classification model decoded many ways: AuC, colourfulness, hue-balanced recall and the hue table for each
annealed-mean temperature T and vividness, on held-out photos and the sample photos; the grid that chooses
the shipped model's decoding.

    python bench/decodings.py --model runs/m --images ../shared/data/photos --images ../shared/data/photos-more \\
        --held-out 0.1 --samples data/sample_photos --temperatures 0.38 0.5 0.7 --vividness 1 1.2 [--save-best DIR]

--save-best writes the model decoded at the best setting (the highest held-out hue-balanced recall whose AuC
is at least grayscale's and whose colourfulness is 0.6-1.1 of the originals') as a model directory.
"""
import argparse
import os
import shutil


def _row(name, r):
    m, b = r["model"], r["grayscale_baseline"]
    ratio = m["colourfulness"] / r["original"]["colourfulness"]
    sectors = " / ".join("-" if v is None else f"{v:.0f}" for v in m["hue_recall"].values())
    return (f"{name} | {m['auc']:.2f} ({b['auc']:.2f}) | {ratio:.2f} | {m['hue_balanced_recall']:.1f} | {sectors}",
            m["auc"] >= b["auc"] and 0.6 <= ratio <= 1.1, m["hue_balanced_recall"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", action="append", required=True, help="photo folder; repeatable")
    ap.add_argument("--held-out", type=float, default=0.1, help="the split of --images scored (0: every photo)")
    ap.add_argument("--samples", default="data/sample_photos")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.38])
    ap.add_argument("--vividness", type=float, nargs="+", default=[1.0])
    ap.add_argument("--save-best", help="write the best decoding here as a model directory")
    args = ap.parse_args(argv)
    import keras

    from commands.evaluate import photos_in
    from model import evaluate, modeldir, quantized
    trained, card = modeldir.load(args.model)
    probs = keras.Model(trained.input, trained.get_layer("annealed_mean").input)
    print("| T, vividness | held-out AuC (grey) | colourfulness / originals' | hue-balanced | sectors "
          "| samples AuC (grey) | colourfulness | hue-balanced | sectors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    best = None
    for t in args.temperatures:
        for v in args.vividness:
            decoded = quantized.inference_model(probs, t, v)
            held = evaluate.on_photos(decoded, card, (p for folder in args.images
                                                      for p in photos_in(folder, args.held_out or None)),
                                      "held-out photos")
            smp = evaluate.on_photos(decoded, card, photos_in(args.samples), "sample photos")
            text, ok, hue = _row(f"T {t}, x{v}", held)
            print(f"| {text} | {_row('', smp)[0].lstrip(' |')} |" + ("" if ok else " (out of bounds)"), flush=True)
            if ok and (best is None or hue > best[0]):
                best = (hue, t, v, decoded)
    if best is None:
        print("no decoding keeps AuC at grayscale's and colourfulness in 0.6-1.1 of the originals'")
        return
    print(f"best: T {best[1]}, vividness {best[2]} (held-out hue-balanced recall {best[0]:.1f})")
    if args.save_best:
        os.makedirs(args.save_best, exist_ok=True)
        best[3].save(os.path.join(args.save_best, modeldir.MODEL_FILE))
        if os.path.abspath(args.save_best) != os.path.abspath(args.model):
            shutil.copy(os.path.join(args.model, modeldir.CARD_FILE), os.path.join(args.save_best, modeldir.CARD_FILE))
        card = modeldir.read_card(args.save_best)
        modeldir.write_card(args.save_best, {**card, "decoding": {"temperature": best[1], "vividness": best[2]}})


if __name__ == "__main__":
    main()
