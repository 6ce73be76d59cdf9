"""Evaluation: the model beside the grayscale baseline (ab = 0), on records or on colour photos.

Writes REPORT/metrics.json (overall and per image) and REPORT/comparison.png
(grayscale input | model | original). Metric definitions: model/metrics.py.
"""
import json
import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from model import hints as hinting
from model import inception, inference, metrics, modeldir
from basics.errors import ModelError
from tfrecords import contract as c
from tfrecords import records
from basics import view
from basics.photos import ImageError, SkipImage, decode_rgb
from basics.lab import lab_to_rgb_uint8, rgb_to_lab

if TYPE_CHECKING:  # for annotations only: the backend loads when a model is built
    import keras
    from model.semantic import Judge

log = logging.getLogger("colorize")
PREDICT_BATCH = 32


def _rgb(l, ab):
    return lab_to_rgb_uint8(np.concatenate([l, ab], axis=-1))


def _score(l, pred_ab, true_ab):
    """Model and baseline metrics of one image in Lab units; returns (model, baseline, rgb triple)."""
    true_rgb, pred_rgb = _rgb(l, true_ab), _rgb(l, pred_ab)
    grey_rgb = _rgb(l, np.zeros_like(true_ab))
    model = metrics.image_metrics(rgb_to_lab(pred_rgb)[..., 1:], true_ab, pred_rgb, true_rgb)
    base = metrics.image_metrics(np.zeros_like(true_ab), true_ab, grey_rgb, true_rgb)
    return model, base, (grey_rgb, pred_rgb, true_rgb)


def on_records(model: "keras.Model", card: dict, data_dir: str, split: str, info: dict, limit: int | None = None,
               keep_examples: int = 0, vividness: float = 1.0, judge: "Judge | None" = None,
               hint_points: int = 0) -> dict:
    """Metrics of `model` on a split of records, at the records' size."""
    if card["architecture"] == "fusion":
        c.check_same_embedding(modeldir.embedding_of(card), c.EmbeddingSpec.from_dict(info.get("embedding")),
                               f"records in {data_dir}")
    if info["image_size"] != card["image_size"]:
        raise ModelError(f"records are {info['image_size']} px, the model takes {card['image_size']} px")
    return on_batches(model, card, records.batches(data_dir, split, PREDICT_BATCH, info=info, limit=limit),
                      f"{split} records of {data_dir}", keep_examples, vividness, judge, hint_points)


def truth_points(ab: np.ndarray, count: int, index: int) -> list:
    """count hints drawn from a photo's true ab [H, W, 2] (hints.from_truth), the same for the index-th photo
    of a set whatever model is scored."""
    return hinting.from_truth(ab, count, np.random.default_rng([index, count])) if count else []


def on_batches(model: "keras.Model", card: dict, batches: Iterable, what: str, keep_examples: int = 0,
               vividness: float = 1.0, judge: "Judge | None" = None, hint_points: int = 0) -> dict:
    """Metrics of `model` on batches as records.batches yields them (scaled l, ab, embedding?, source).
    judge: a semantic.Judge, whose ImageNet classes of each original, colorization and grey version
    give the semantic test. hint_points: that many colour hints per photo, drawn from its truth."""
    fusion = card["architecture"] == "fusion"
    per_image, examples = [], []
    for batch in batches:
        l_s, ab_s = batch["l"], batch["ab"]
        planes = None
        if hint_points:
            planes = np.stack([hinting.draw(truth_points(c.unscale_ab(ab), hint_points, len(per_image) + i),
                                            *ab.shape[:2]) for i, ab in enumerate(ab_s)])
        pred = inference.vivid(inference.predict_ab(model, l_s, batch["embedding"] if fusion else None, planes),
                               vividness)
        triples = []
        for i, name in enumerate(batch["source"]):
            m, b, rgbs = _score(c.unscale_l(l_s[i]), pred[i], c.unscale_ab(ab_s[i]))
            per_image.append({"source": name, "model": m, "grayscale_baseline": b,
                              "original": {"colourfulness": metrics.colourfulness(rgbs[2])}})
            triples.append(rgbs)
            if len(examples) < keep_examples:
                examples.append(rgbs)
        if judge:
            _judge_into(judge, triples, per_image[-len(triples):])
    return summarize(per_image, what, examples, judge)


def _judge_into(judge, triples, entries):
    """Each entry gets the judge's top-1 class of its grey input, colorization and original, and whether
    the first two agree with the third."""
    grey, model, original = (judge.top1([t[k] for t in triples]) for k in range(3))
    for e, g, m, o in zip(entries, grey, model, original, strict=True):
        e["imagenet_top1"] = {"grayscale": int(g), "model": int(m), "original": int(o)}
        e["model"]["semantic_agreement"] = 100.0 * (m == o)
        e["grayscale_baseline"]["semantic_agreement"] = 100.0 * (g == o)


def summarize(per_image: list[dict], what: str, examples: list | None = None, judge: "Judge | None" = None) -> dict:
    if not per_image:
        raise c.ContractError(f"nothing to evaluate in {what}")
    out = {"split": what, "images": len(per_image),
           "model": metrics.mean_metrics([p["model"] for p in per_image]),
           "grayscale_baseline": metrics.mean_metrics([p["grayscale_baseline"] for p in per_image]),
           "original": metrics.mean_metrics([p["original"] for p in per_image])}
    if judge:
        out["semantic_judge"] = judge.name
    out["_examples"] = examples or []
    out["_per_image"] = per_image
    return out


def photo_metrics(colour_rgb: np.ndarray, true_rgb: np.ndarray) -> dict:
    """Full-resolution metrics of a colorized photo against the colour original."""
    true_lab = rgb_to_lab(true_rgb)
    grey_rgb = _rgb(true_lab[..., :1], np.zeros_like(true_lab[..., 1:]))
    model = metrics.image_metrics(rgb_to_lab(colour_rgb)[..., 1:], true_lab[..., 1:], colour_rgb, true_rgb)
    base = metrics.image_metrics(np.zeros_like(true_lab[..., 1:]), true_lab[..., 1:], grey_rgb, true_rgb)
    return {"model": model, "grayscale_baseline": base,
            "original": {"colourfulness": metrics.colourfulness(true_rgb)}}


def on_photos(model: "keras.Model", card: dict, photos: Iterable[tuple[str, Any]], what: str, keep_examples: int = 0,
              vividness: float = 1.0, judge: "Judge | None" = None, hint_points: int = 0) -> dict:
    """Colour photos, (name, encoded bytes or an ImageError to list) pairs -> metrics of their grey version
    colorized at the model's size and compared at full size; photos without colour are skipped.
    hint_points: that many colour hints per photo, each the mean ab of a 5 x 5 square of the full-size truth."""
    embed = _embedder(card)
    per_image, examples, skipped = [], [], []
    for name, data in photos:
        try:
            if isinstance(data, Exception):
                raise data
            rgb = decode_rgb(data)
            if not view.has_colour(rgb_to_lab(view.square(rgb, 64, view.INFERENCE_VIEW))):
                raise SkipImage("no colour to compare with")
        except ImageError as e:
            skipped.append({"path": name, "reason": str(e)})
            continue
        lab = rgb_to_lab(rgb)
        points = truth_points(lab[..., 1:], hint_points, len(per_image))
        colour = inference.colorize_pixels(model, rgb, card["image_size"], embed(rgb) if embed else None, vividness,
                                           points)
        per_image.append({"source": name, **photo_metrics(colour, rgb)})
        triple = (_rgb(lab[..., :1], np.zeros(rgb.shape[:2] + (2,), np.float32)), colour, rgb)
        if judge:
            _judge_into(judge, [triple], per_image[-1:])
        if len(examples) < keep_examples:
            examples.append(triple)
    out = summarize(per_image, what, examples, judge)
    out["skipped"] = skipped
    return out


def _embedder(card):
    spec = modeldir.embedding_of(card)
    if card["architecture"] != "fusion":
        return None
    net, found = inception.build_inception(spec.weights)
    c.check_same_embedding(spec, found, "Inception-ResNet-v2 rebuilt for evaluation")
    return lambda rgb: np.asarray(net(inception.preprocess(view.inception_input(rgb)[None])))[0]


def comparison_png(examples: list, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(examples), 3, figsize=(9, 3 * len(examples)), squeeze=False)
    for row, triple in zip(axes, examples, strict=True):
        for ax, img, title in zip(row, triple, ("grayscale input", "model", "original"), strict=True):
            ax.imshow(img)
            ax.set_title(title)
            ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_report(result: dict, report_dir: str, model_dir: str | None, card: dict) -> str:
    """metrics.json and comparison.png into report_dir; returns the one-line summary."""
    os.makedirs(report_dir, exist_ok=True)
    comparison_png(result.pop("_examples"), os.path.join(report_dir, "comparison.png"))
    result["per_image"] = result.pop("_per_image")
    result["model_dir"] = model_dir or modeldir.DEFAULT_MODEL_DIR
    result["architecture"] = card["architecture"]
    with open(os.path.join(report_dir, "metrics.json"), "w") as f:
        json.dump(result, f, indent=2)
    return summary_text(result)


def summary_text(result: dict) -> str:
    """What `colorize evaluate` prints: the numbers, the hue table, and the semantic test when it ran."""
    m, b = result["model"], result["grayscale_baseline"]
    lines = [f"{result['images']} images: " + ", ".join(
        f"{k} {m[k]:.2f} (grayscale {b[k]:.2f})" for k in ("auc", "acc@5", "acc@10", "psnr", "colourfulness"))
        + f"; originals' colourfulness {result['original']['colourfulness']:.2f}"]
    if "hue_recall" in m:
        lines.append("hue recall (% of the pixels of true chroma >= 20 given a hue within 30 degrees, by true hue):")
        pixels = m["hue_pixels"]
        for sector, value in m["hue_recall"].items():
            lines.append(f"  {sector:<27} {_pct(value):>6} (grayscale {_pct(b['hue_recall'][sector])}) "
                         f"of {pixels[sector]} pixels")
        lines.append(f"hue-balanced recall {_pct(m['hue_balanced_recall'])} (grayscale "
                     f"{_pct(b['hue_balanced_recall'])}; a random hue scores about 16.7 %)")
    if "semantic_agreement" in m:
        lines.append(f"semantic test ({result['semantic_judge']}'s top-1 ImageNet class the same as the "
                     f"original's): {m['semantic_agreement']:.1f} % (grayscale {b['semantic_agreement']:.1f} %)")
    elif result.get("semantic_skipped"):
        lines.append(f"semantic test not run: {result['semantic_skipped']}")
    if result.get("skipped"):  # a photo left out of the figures is said here, not only in metrics.json
        reasons = {}
        for s in result["skipped"]:
            reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
        lines.append(f"not scored: {len(result['skipped'])} file(s), each listed in metrics.json (\"skipped\"): "
                     + "; ".join(f"{n} {why}" for why, n in sorted(reasons.items(), key=lambda kv: -kv[1])))
    return "\n".join(lines)


def _pct(value):
    return "-" if value is None else f"{value:.1f} %"
