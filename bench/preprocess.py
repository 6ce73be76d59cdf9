"""Benchmark of `colorize preprocess`: end-to-end marginal throughput, Inception's own bound, a naive loop, memory.

    python bench/preprocess.py [--photos ../shared/data/photos] [--small 48] [--large 144] [--naive 24]
        [--workers N] [--share-model] [--no-warm-up]

The marginal rate is measured twice, as in bench/run.py: from the two run sizes, and as the steady rate
of the large run alone (its progress lines between 10 and 90 % done); --small 0 / --naive 0 leave those out.

Inception-ResNet-v2 runs with seeded random weights: the same computation as the ImageNet ones.
"""
import argparse
import os
import tempfile
import time

import numpy as np

import common


def inception_bound(batch=32, repeats=4):
    """Inception's forward rate, compiled as the pipeline compiles it (model.inference.Compiled)."""
    from model.inception import build_inception
    from model.inference import Compiled
    model = build_inception("random")[0]
    fn = Compiled(model, batch)
    x = np.random.default_rng(0).uniform(-1, 1, (batch, 299, 299, 3)).astype(np.float32)
    fn(x)
    repeats = 20 * repeats if _on_gpu() else repeats  # a GPU runs a batch in milliseconds
    start = time.perf_counter()
    for _ in range(repeats):
        fn(x)
    return batch * repeats / (time.perf_counter() - start), model


def _on_gpu():
    import keras
    if keras.backend.backend() != "jax":
        return False
    import jax
    return jax.default_backend() == "gpu"


def _cpu_work(args):
    """Everything `preprocess` does for one photo but Inception: decode, L / ab / Inception's grey view."""
    path, size = args
    from tfrecords import records
    from basics import photos, view
    with open(path, "rb") as f:
        rgb = photos.decode_rgb(f.read())
    l_q, ab_q, grey = view.training_example(rgb, size)
    return len(records.encode_example(path, l_q, ab_q, np.zeros(1000, np.float32)))


def naive_loop(paths, model, image_size, workdir):
    """What a user without this project writes: one photo at a time, `model.predict` at batch 1."""
    import gzip
    from model import inception
    from tfrecords import records
    from basics import photos, view
    model.predict(np.zeros((1, 299, 299, 3), np.float32), verbose=0)
    start = time.perf_counter()
    with gzip.open(os.path.join(workdir, "naive.records.gz"), "wb") as w:
        for p in paths:
            with open(p, "rb") as f:
                rgb = photos.decode_rgb(f.read())
            l_q, ab_q, grey = view.training_example(rgb, image_size)
            emb = model.predict(inception.preprocess(grey[None]), verbose=0)[0]
            w.write(records.encode_example(p, l_q, ab_q, emb))
    return len(paths) / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=common.DEFAULT_PHOTOS)
    ap.add_argument("--small", type=int, default=48, help="photos in the smaller run (0: none)")
    ap.add_argument("--large", type=int, default=144)
    ap.add_argument("--naive", type=int, default=24, help="photos through the naive loop (0: none)")
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--workers", type=int, default=None, help="local worker processes (default: one a core)")
    ap.add_argument("--share-model", action="store_true", help="pass --share-model: one model for all workers")
    ap.add_argument("--no-warm-up", action="store_true", help="no 8-photo run first to fill the compile cache")
    args = ap.parse_args()
    paths = common.photo_paths(args.photos, args.large)
    print(common.machine())
    with tempfile.TemporaryDirectory() as work:
        flags = ["--inception-weights", "random", "--image-size", str(args.image_size),
                 *common.worker_flags(args.workers, args.share_model)]
        def timed(some):
            return common.end_to_end("preprocess", some, work, *flags)
        if not args.no_warm_up:
            timed(paths[:8])  # compiled programs cached
        t_small, m_small, _ = timed(paths[:args.small]) if args.small else (0, 0, None)
        t_large, m_large, steady = timed(paths)
        marginal = (args.large - args.small) / (t_large - t_small) if args.small else None
        bound, model = inception_bound()
        common.progress(f"Inception bound {bound:.2f} images/s")
        naive = naive_loop(paths[:args.naive], model, args.image_size, work) if args.naive else None
        common.progress(f"naive loop {naive:.2f} images/s" if naive else "no naive loop")
        some = common.spread(paths, common.CPU_BOUND_PHOTOS)  # a rate, not a total
        cpu = common.rate_on_all_cores(_cpu_work, [(p, args.image_size) for p in some])  # no Inception
    if marginal:
        print(f"(a) colorize preprocess, end to end: {args.small} photos {t_small:.1f} s, {args.large} photos "
              f"{t_large:.1f} s -> marginal {marginal:.2f} images/s")
    else:
        print(f"(a) colorize preprocess, end to end: {args.large} photos {t_large:.1f} s")
    if steady:
        print(f"(a') steady rate of the {args.large}-photo run (10-90 % done): {steady:.2f} images/s")
    print(f"(b) Inception-ResNet-v2 forward alone, batch 32: {bound:.2f} images/s")
    print(f"(b') CPU side alone (decode, views, encode) on all {os.cpu_count()} cores: {cpu:.2f} images/s")
    import keras
    lower = min(bound, cpu)
    rates = [(name, r) for name, r in (("(a)", marginal), ("(a')", steady)) if r]
    print(f"backend {keras.backend.backend()}; the lower bound is {'Inception' if bound <= cpu else 'the CPU side'}'s: "
          + ", ".join(f"{name} / lower bound = {r / lower:.2f}" for name, r in rates))
    if naive:
        print(f"(c) naive per-image loop (decode, model.predict at batch 1, write): {naive:.2f} images/s")
    print(f"worker processes: {args.workers or os.cpu_count()}{', one shared Inception' if args.share_model else ''}")
    print("(d) peak memory of the whole run (all processes): "
          + (f"{m_small:.0f} MiB at {args.small} photos, " if args.small else "") + f"{m_large:.0f} MiB at {args.large}")
    if marginal:
        print(f"ratios: (a)/(b) = {marginal / bound:.2f} (target >= 0.8)"
              + (f", (a)/(c) = {marginal / naive:.2f} (target >= 1.5)" if naive else "")
              + f", memory {args.large}/{args.small} photos = {m_large / m_small:.2f} (flat: ~1)")


if __name__ == "__main__":
    main()
