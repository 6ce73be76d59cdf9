"""Benchmark of `colorize run`: end-to-end marginal throughput, the model's own bound, a naive loop, memory.

    python bench/run.py [--photos ../shared/data/photos] [--model DIR [--model DIR2]] [--small 60] [--large 240]
        [--naive 40] [--workers N] [--share-model] [--no-warm-up]

The marginal rate is measured twice: as (large - small) / (time of large - time of small), and as the
steady rate of the large run alone (its progress lines between 10 and 90 % done). On a machine where
starting the workers takes most of a run (a GPU, many processes) the second is the one to read; --small 0
and --naive 0 leave out what it does not need.
"""
import argparse
import io
import os
import tempfile
import time

import numpy as np
from PIL import Image

import common


def megapixels(paths):
    total = 0
    for p in paths:
        with Image.open(p) as im:
            total += im.size[0] * im.size[1]
    return total / 1e6


def model_bound(model, card, batch):
    """The model's forward rate, compiled as the pipeline compiles it (model.inference.Compiled)."""
    from model.inference import Compiled
    fn = Compiled(model, batch)
    s = card["image_size"]
    x = np.random.default_rng(0).uniform(-1, 1, (batch, s, s, 1)).astype(np.float32)
    if card["architecture"] == "fusion":
        x = {"l": x, "embedding": np.zeros((batch, card["embedding"]["dim"]), np.float32)}
    np.asarray(fn(x))
    start, repeats = time.perf_counter(), 10
    for _ in range(repeats):
        np.asarray(fn(x))
    return batch * repeats / (time.perf_counter() - start)


def _cpu_work(args):
    """Everything `run` does for one photo but the model: decode, the model's input, merge a (grey)
    prediction with the full-resolution L, encode the JPEG."""
    path, size = args
    from model import inference
    from basics import photos, view
    from basics.lab import lightness
    with open(path, "rb") as f:
        rgb = photos.decode_rgb(f.read())
    view.model_input(rgb, size)
    colour = inference.merge(lightness(rgb), np.zeros((size, size, 2), np.float32))
    buf = io.BytesIO()
    Image.fromarray(colour).save(buf, "JPEG", quality=95)
    return len(buf.getvalue())


def naive_loop(paths, model, card, workdir):
    """Open, predict one photo at a time, save: what a user without this project writes."""
    from model import inference
    from basics import photos
    start = time.perf_counter()
    for i, p in enumerate(paths):
        with open(p, "rb") as f:
            rgb = photos.decode_rgb(f.read())
        colour = inference.colorize_pixels(model, rgb, card["image_size"])
        buf = io.BytesIO()
        Image.fromarray(colour).save(buf, "JPEG", quality=95)
        with open(os.path.join(workdir, f"naive{i}.jpg"), "wb") as f:
            f.write(buf.getvalue())
    return len(paths) / (time.perf_counter() - start)


def measure(args, paths, model_dir, work):
    """One model's figures: end-to-end runs, the model's bound, the CPU side's rate, the naive loop, memory."""
    from model import modeldir
    model_args = (["--model", model_dir] if model_dir else []) + ["--batch-size", str(args.batch_size)]
    model_args += common.worker_flags(args.workers, args.share_model)

    def timed(some):
        return common.end_to_end("run", some, work, *model_args)
    if not args.no_warm_up:
        timed(paths[:8])  # both timed runs find the same compiled programs
    t_small, m_small, _ = timed(paths[:args.small]) if args.small else (0, 0, None)
    t_large, m_large, steady = timed(paths)
    model, card = modeldir.load(model_dir)
    bound = model_bound(model, card, args.batch_size)
    common.progress(f"model bound {bound:.1f} images/s")
    naive = naive_loop(paths[:args.naive], model, card, work) if args.naive else None
    common.progress(f"naive loop {naive:.2f} images/s" if naive else "no naive loop")
    some = common.spread(paths, common.CPU_BOUND_PHOTOS)  # a rate, not a total
    cpu = common.rate_on_all_cores(_cpu_work, [(p, card["image_size"]) for p in some])  # no model
    return dict(card=card, t_small=t_small, m_small=m_small, t_large=t_large, m_large=m_large, steady=steady,
                bound=bound, naive=naive, cpu=cpu)


def report(args, paths, model_dir, r):
    card, bound, cpu, naive = r["card"], r["bound"], r["cpu"], r["naive"]
    print(f"model: {card['architecture']} at {card['image_size']} px ({model_dir or 'shipped default'})")
    mean_mp = megapixels(paths) / len(paths)
    marginal = None
    if args.small:
        marginal = (args.large - args.small) / (r["t_large"] - r["t_small"])
        mp = megapixels(paths[args.small:]) / (r["t_large"] - r["t_small"])
        print(f"end to end: {args.small} photos {r['t_small']:.1f} s, {args.large} photos {r['t_large']:.1f} s -> "
              f"marginal {marginal:.2f} images/s, {mp:.2f} megapixels/s (mean {mean_mp:.2f} MP a photo), "
              f"{1000 / marginal:.1f} ms a photo")
    else:
        print(f"end to end: {args.large} photos {r['t_large']:.1f} s (mean {mean_mp:.2f} MP a photo)")
    if r["steady"]:
        print(f"steady rate of the {args.large}-photo run (10-90 % done): {r['steady']:.2f} images/s, "
              f"{r['steady'] * mean_mp:.2f} megapixels/s")
    cores = os.cpu_count()
    print(f"the model's forward pass at batch {args.batch_size}: {bound:.1f} images/s")
    print(f"the CPU side (decode + model input + merge + encode) on all {cores} cores, no model: {cpu:.1f} "
          f"images/s ({cpu / cores:.1f} a core)")
    gpu = common.accelerator()
    if gpu:  # the model on the GPU, the CPU side on the cores: the slower of the two binds
        ideal = min(bound, cpu)
        print(f"ideal on {gpu}, the slower of the model (on the GPU) and the CPU side (on the cores): "
              f"{ideal:.1f} images/s, bound by the {'model' if bound < cpu else 'CPU side'}")
    else:  # every core busy: the model's work and the CPU side's share the cores
        ideal = 1 / (1 / bound + 1 / cpu)
        print(f"ideal, 1 / (1/model + 1/(cores x CPU side a core)): {ideal:.1f} images/s")
    if naive:
        print(f"naive loop (open, predict one by one, save): {naive:.2f} images/s")
    print(f"worker processes: {args.workers or 'as the run chooses'}{', one shared model' if args.share_model else ''}")
    print("peak memory (all processes): " + (f"{r['m_small']:.0f} MiB at {args.small} photos, " if args.small else "")
          + f"{r['m_large']:.0f} MiB at {args.large}")
    import keras
    rates = [(name, x) for name, x in (("marginal", marginal), ("steady", r["steady"])) if x]
    print(f"backend {keras.backend.backend()}: " + ", ".join(f"{name} / ideal = {x / ideal:.2f}" for name, x in rates)
          + " (target >= 0.8)")
    if marginal and naive:
        print(f"end-to-end / naive = {marginal / naive:.2f} (target >= 1.5)")
    return marginal


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=common.DEFAULT_PHOTOS)
    ap.add_argument("--model", action="append", default=None,
                    help="model directory; repeatable: each model measured in turn, on the same photos in the same "
                         "run (default: the shipped model)")
    ap.add_argument("--small", type=int, default=60, help="photos in the smaller run (0: none)")
    ap.add_argument("--large", type=int, default=240)
    ap.add_argument("--naive", type=int, default=40, help="photos through the naive loop (0: none)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None,
                    help="local worker processes (default: as colorize run chooses, in its process or one a core)")
    ap.add_argument("--share-model", action="store_true", help="pass --share-model: one model for all workers")
    ap.add_argument("--no-warm-up", action="store_true", help="no 8-photo run first to fill the compile cache")
    args = ap.parse_args()
    paths = common.photo_paths(args.photos, args.large)
    print(common.machine())
    models = args.model or [None]
    results = []
    with tempfile.TemporaryDirectory() as work:
        for model_dir in models:
            results.append(measure(args, paths, model_dir, work))
    per_photo = []
    for model_dir, r in zip(models, results, strict=True):
        print()
        marginal = report(args, paths, model_dir, r)
        per_photo.append((model_dir or "shipped default", marginal))
    if len(models) > 1 and all(m for _, m in per_photo):
        base = per_photo[0][1]
        print("\ncost a photo, end to end, against the first model's: "
              + ", ".join(f"{name} {base / m:.2f}x" for name, m in per_photo))


if __name__ == "__main__":
    main()
