"""`colorize evaluate`: the model beside the grayscale baseline (ab = 0), on records or on a photo folder.

Writes REPORT/metrics.json (overall and per image) and REPORT/comparison.png
(grayscale input | model | original). Metric definitions: model/metrics.py.
"""
import argparse
import json
import logging
import os

import numpy as np

from model import inference, metrics, modeldir
from model.networks import ModelError
from tfrecords.errors import positive_int
from tfrecords import contract as c
from tfrecords.lab import lab_to_rgb_uint8, rgb_to_lab

log = logging.getLogger("colorize")
PREDICT_BATCH = 32
COMPARISON_ROWS = 6


def _rgb(l, ab):
    return lab_to_rgb_uint8(np.concatenate([l, ab], axis=-1))


def _score(l, pred_ab, true_ab):
    """Model and baseline metrics of one image in Lab units; returns (model, baseline, rgb triple)."""
    true_rgb, pred_rgb = _rgb(l, true_ab), _rgb(l, pred_ab)
    grey_rgb = _rgb(l, np.zeros_like(true_ab))
    model = metrics.image_metrics(rgb_to_lab(pred_rgb)[..., 1:], true_ab, pred_rgb, true_rgb)
    base = metrics.image_metrics(np.zeros_like(true_ab), true_ab, grey_rgb, true_rgb)
    return model, base, (grey_rgb, pred_rgb, true_rgb)


def _record_batches(data_dir, split, info, fusion, limit):
    import keras
    if keras.backend.backend() == "tensorflow":
        import tfrecords
        ds = tfrecords.load(data_dir, split, info=info)
        if limit:
            ds = ds.take(limit)
        for b in ds.batch(PREDICT_BATCH).as_numpy_iterator():
            yield b["l"], b["ab"], (b["embedding"] if fusion else None), [s.decode() for s in b["source"]]
        return
    import tfrecords
    arrays = tfrecords.read_arrays(data_dir, split, limit=limit)
    for i in range(0, len(arrays["l"]), PREDICT_BATCH):
        sl = slice(i, i + PREDICT_BATCH)
        yield (arrays["l"][sl], arrays["ab"][sl], arrays["embedding"][sl] if fusion else None,
               list(arrays["source"][sl]))


def on_records(model, card, data_dir, split, info, limit=None, keep_examples=0):
    """Metrics of `model` on a split of records, at the records' size."""
    fusion = card["architecture"] == "fusion"
    if fusion:
        c.check_same_embedding(modeldir.embedding_of(card), c.EmbeddingSpec.from_dict(info.get("embedding")),
                               f"records in {data_dir}")
    if info["image_size"] != card["image_size"]:
        raise ModelError(f"records are {info['image_size']} px, the model takes {card['image_size']} px")
    per_image, examples = [], []
    for l_s, ab_s, emb, names in _record_batches(data_dir, split, info, fusion, limit):
        pred = inference.predict_ab(model, l_s, emb)
        for i, name in enumerate(names):
            m, b, rgbs = _score(c.unscale_l(l_s[i]), pred[i], c.unscale_ab(ab_s[i]))
            per_image.append({"source": name, "model": m, "grayscale_baseline": b,
                              "original": {"colourfulness": metrics.colourfulness(rgbs[2])}})
            if len(examples) < keep_examples:
                examples.append(rgbs)
    return summarize(per_image, f"{split} records of {data_dir}", examples)


def summarize(per_image, what, examples=None):
    if not per_image:
        raise c.ContractError(f"nothing to evaluate in {what}")
    out = {"split": what, "images": len(per_image),
           "model": metrics.mean_metrics([p["model"] for p in per_image]),
           "grayscale_baseline": metrics.mean_metrics([p["grayscale_baseline"] for p in per_image]),
           "original": metrics.mean_metrics([p["original"] for p in per_image])}
    out["_examples"] = examples or []
    out["_per_image"] = per_image
    return out


def photo_metrics(colour_rgb, true_rgb):
    """Full-resolution metrics of a colorized photo against the colour original."""
    true_lab = rgb_to_lab(true_rgb)
    grey_rgb = _rgb(true_lab[..., :1], np.zeros_like(true_lab[..., 1:]))
    model = metrics.image_metrics(rgb_to_lab(colour_rgb)[..., 1:], true_lab[..., 1:], colour_rgb, true_rgb)
    base = metrics.image_metrics(np.zeros_like(true_lab[..., 1:]), true_lab[..., 1:], grey_rgb, true_rgb)
    return {"model": model, "grayscale_baseline": base,
            "original": {"colourfulness": metrics.colourfulness(true_rgb)}}


def on_photos(model, card, folder, keep_examples=0):
    """Colour photos -> their grey version colorized at the model's size, compared at full size."""
    from pipeline import images, sources
    embed = _embedder(card)
    per_image, examples, skipped = [], [], []
    for f in sources.list_files(folder):
        try:
            if not images.is_image_name(f.path):
                raise images.SkipImage("not an image file")
            rgb = images.decode_rgb(sources.read_file(f.path, sources.DEFAULT_MAX_FILE_MB << 20))
            if not images.has_colour(rgb_to_lab(images.centre_square(rgb, 64))):
                raise images.SkipImage("no colour to compare with")
        except images.ImageError as e:
            skipped.append({"path": f.path, "reason": str(e)})
            continue
        colour = inference.colorize_pixels(model, rgb, card["image_size"], embed(rgb) if embed else None)
        per_image.append({"source": f.relpath, **photo_metrics(colour, rgb)})
        if len(examples) < keep_examples:
            examples.append((_rgb(rgb_to_lab(rgb)[..., :1], np.zeros(rgb.shape[:2] + (2,), np.float32)),
                             colour, rgb))
    out = summarize(per_image, f"photos in {folder}", examples)
    out["skipped"] = skipped
    return out


def _embedder(card):
    spec = modeldir.embedding_of(card)
    if card["architecture"] != "fusion":
        return None
    from pipeline import embedding, images
    net, found = embedding.build_inception(spec.weights)
    c.check_same_embedding(spec, found, "Inception-ResNet-v2 rebuilt for evaluation")
    return lambda rgb: np.asarray(net(embedding.preprocess(images.inception_input(rgb)[None])))[0]


def comparison_png(examples, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(examples), 3, figsize=(9, 3 * len(examples)), squeeze=False)
    for row, triple in zip(axes, examples):
        for ax, img, title in zip(row, triple, ("grayscale input", "model", "original")):
            ax.imshow(img)
            ax.set_title(title)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="colorize evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model directory (default: the model shipped with colorize)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="output folder of 'colorize preprocess'")
    src.add_argument("--images", help="folder of colour photos")
    p.add_argument("--split", default="val", choices=c.SPLITS)
    p.add_argument("--limit", type=positive_int, default=None, help="evaluate at most N records")
    p.add_argument("--report", required=True, help="folder for metrics.json and comparison.png")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if os.path.exists(args.report) and not os.path.isdir(args.report):
        raise ModelError(f"--report {args.report} is a file; give a folder (it is made if missing)")
    model, card = modeldir.load(args.model)
    if args.data:
        info = c.read_dataset_json(args.data)
        result = on_records(model, card, args.data, args.split, info, args.limit, COMPARISON_ROWS)
    else:
        result = on_photos(model, card, args.images, COMPARISON_ROWS)
    os.makedirs(args.report, exist_ok=True)
    comparison_png(result.pop("_examples"), os.path.join(args.report, "comparison.png"))
    result["per_image"] = result.pop("_per_image")
    result["model_dir"] = args.model or modeldir.DEFAULT_MODEL_DIR
    result["architecture"] = card["architecture"]
    with open(os.path.join(args.report, "metrics.json"), "w") as f:
        json.dump(result, f, indent=2)
    m, b = result["model"], result["grayscale_baseline"]
    print(f"{result['images']} images: " + ", ".join(
        f"{k} {m[k]:.2f} (grayscale {b[k]:.2f})" for k in ("auc", "acc@5", "acc@10", "psnr", "colourfulness"))
        + f"; originals' colourfulness {result['original']['colourfulness']:.2f}")
    print(f"wrote {args.report}/metrics.json and comparison.png")
    return 0
