"""Benchmark of `colorize train`: fusion training throughput at 224 px and the tf.data input alone.

    python bench/train.py [--photos ../shared/data/photos] [--n 64] [--data RECORDS]

Without --data it first writes records of N photos with `colorize preprocess` (random-weight Inception).
The input pipeline must deliver at least 5x what the model consumes.
"""
import argparse
import os
import tempfile
import time

import common


def make_records(photos, n, work):
    folder = common.copy_photos(common.photo_paths(photos, n), os.path.join(work, "photos"))
    out = os.path.join(work, "records")
    common.timed_command(common.colorize_cmd("preprocess", "--input", folder, "--output", out,
                                             "--inception-weights", "random", "--val-fraction", "0"))
    return out


def input_throughput(data, info, batch, seconds=10.0):
    from model import training_data
    ds = training_data.tf_dataset(data, "train", info, batch, True, 0, True).repeat()
    it = iter(ds)
    next(it)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        x, _ = next(it)
        n += int(x["l"].shape[0])
    return n / (time.perf_counter() - start)


def model_throughput(data, info, batch, steps):
    import keras
    from model import networks, training_data
    model = networks.build("fusion", info["image_size"], info["embedding"]["dim"])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    ds = training_data.tf_dataset(data, "train", info, batch, True, 0, True).repeat().take(steps + 2)
    model.fit(ds.take(2), verbose=0)  # build and trace
    start = time.perf_counter()
    model.fit(ds.skip(2), verbose=0)
    return steps * batch / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=common.DEFAULT_PHOTOS)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--data", default=None)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()
    print(common.machine())
    from tfrecords import contract as c
    with tempfile.TemporaryDirectory() as work:
        data = args.data or make_records(args.photos, args.n, work)
        info = c.read_dataset_json(data)
        fed = input_throughput(data, info, args.batch_size)
        trained = model_throughput(data, info, args.batch_size, args.steps)
    print(f"tf.data input alone (parse, shuffle, flip, batch {args.batch_size}): {fed:.1f} images/s")
    print(f"fusion training at {info['image_size']} px, batch {args.batch_size}: {trained:.2f} images/s")
    print(f"input / model = {fed / trained:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
