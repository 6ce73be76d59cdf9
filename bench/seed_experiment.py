"""The seed project's claim, reproduced: Part 2 (fusion) after 10 epochs vs Part 1 (alpha) after 100 epochs.

    python bench/seed_experiment.py [--photos ../shared/data/photos] [--n 40] [--image-size 224]

Both networks train on the same small set of real photos (records written by `colorize preprocess`,
random-weight Inception embeddings, as no ImageNet weights can be had offline) and are scored on that
set, as the seed project did, and on held-out photos, beside the grayscale baseline.
"""
import argparse
import os
import tempfile

import common


def records(photos, n, size, work):
    folder = common.copy_photos(common.photo_paths(photos, n), os.path.join(work, "photos"))
    out = os.path.join(work, "records")
    common.timed_command(common.colorize_cmd("preprocess", "--input", folder, "--output", out, "--image-size",
                                             str(size), "--inception-weights", "random", "--val-fraction", "0.2"))
    return out


def fit(arch, data, info, epochs, batch):
    import keras
    from model import networks, training_data
    keras.utils.set_random_seed(0)
    fusion = arch == "fusion"
    model = networks.build(arch, info["image_size"], info["embedding"]["dim"] if fusion else None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.fit(training_data.tf_dataset(data, "train", info, batch, fusion, 0, True), epochs=epochs, verbose=0)
    return model


def scores(model, arch, data, info):
    from model import evaluate
    card = {"architecture": arch, "image_size": info["image_size"], "embedding": info["embedding"]}
    return {split: evaluate.on_records(model, card, data, split, info) for split in ("train", "val")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=common.DEFAULT_PHOTOS)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    print(common.machine())
    from tfrecords import contract as c
    with tempfile.TemporaryDirectory() as work:
        data = records(args.photos, args.n, args.image_size, work)
        info = c.read_dataset_json(data)
        results = {
            "alpha, 100 epochs": scores(fit("alpha", data, info, 100, args.batch_size), "alpha", data, info),
            "fusion, 10 epochs": scores(fit("fusion", data, info, 10, args.batch_size), "fusion", data, info),
        }
    counts = info["counts"]["per_split"]
    print(f"{counts['train']} training photos, {counts['val']} held out, {args.image_size} px")
    print(f"{'':22} {'split':6} {'AuC':>7} {'acc@5':>7} {'acc@10':>7} {'PSNR':>7} {'colourf.':>8}")
    for name, by_split in results.items():
        for split, r in by_split.items():
            for who, m in ((name, r["model"]), ("  grayscale baseline", r["grayscale_baseline"])):
                if who.startswith("  ") and name != "alpha, 100 epochs":
                    continue
                print(f"{who:22} {split:6} {m['auc']:7.2f} {m['acc@5']:7.2f} {m['acc@10']:7.2f} "
                      f"{m['psnr']:7.2f} {m['colourfulness']:8.2f}")


if __name__ == "__main__":
    main()
