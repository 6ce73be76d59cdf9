"""Trains and scores many recipes side by side on one GPU: the experiments behind the shipped model.

    photo folders --(view.training_example, split_of: what `colorize preprocess` writes)--> arrays
      --> one process per (variant, seed), all at once --(model.train.train_network, the path `colorize train`
          takes)--> RUN/model.keras and its card
      --> evaluate.on_records(the records' val split) + evaluate.on_photos(sample photos)
      --> sweep.json: every run's metrics at every vividness asked

The arrays are what `colorize preprocess --embedding none` would write for the same folders (the
same per-photo function and split rule; tests/model/test_train_sweep.py checks it), built in memory
because the machine that trains need not have Beam. Each variant is a dict of `colorize train`
flags plus "sources", the photo folders it trains on, and "weights", how many times an epoch each source's
training photos are seen (default 1):

    python bench/train_sweep.py --photos photos=PATH --photos more=PATH --val-records data/photos128 \\
        --samples data/sample_photos --variants variants.json --out runs/sweep

With --held-out NAME=FOLDER (repeatable), whole sources no run trains on are every run's validation: they
choose its best epoch and score it ("val"), while the random split of the training sources is scored beside
them ("random"). A photo folder from elsewhere predicts photos the model never saw; a random 10 % of the
training sources flatters it.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from model.sweep import DEFAULTS, IMAGE_SIZE, load_arrays, train_one  # noqa: E402  (the sweep's data and runs)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", action="append", default=[], help="NAME=FOLDER; repeatable")
    p.add_argument("--held-out", action="append", default=[],
                   help="NAME=FOLDER, repeatable: a whole source no run trains on, every run's validation")
    p.add_argument("--val-records", help="records folder whose val split scores every run (default: the val split "
                                         "of the photos' arrays)")
    p.add_argument("--image-size", type=int, default=IMAGE_SIZE, help=f"default {IMAGE_SIZE}")
    p.add_argument("--samples", help="folder of sample photos scored at full resolution")
    p.add_argument("--variants", help="JSON file: a list of variants")
    p.add_argument("--out", required=True)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--workers", type=int, default=os.cpu_count())
    p.add_argument("--parallel", type=int, default=8, help="training processes at once")
    p.add_argument("--deadline", type=float, default=None,
                   help="seconds: runs stop training in time to be scored before it; any still going then is killed")
    p.add_argument("--score-reserve", type=float, default=120,
                   help="seconds before the deadline that training stops, for scoring (default 120)")
    p.add_argument("--keep", type=int, default=0, help="copy the model directories of the best N runs ...")
    p.add_argument("--keep-to", help="... here, model.keras in parts of 15 MB (join with cat)")
    p.add_argument("--resume", action="store_true",
                   help="continue runs a deadline or a kill stopped, from their last epoch; finished runs are kept")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        train_one(json.loads(args.one))
        return
    os.makedirs(args.out, exist_ok=True)
    cache = load_arrays(args.out, [(p, args.val_fraction) for p in args.photos] + [(p, 1.0) for p in args.held_out],
                        args.image_size, args.workers)
    held_out = [p.split("=", 1)[0] for p in args.held_out]
    if not args.variants:
        return  # only the arrays asked: a source carried ahead of the runs
    with open(args.variants) as f:
        variants = json.load(f)
    specs = []
    for v in variants:
        v = {**DEFAULTS, **v}
        for seed in v.pop("seeds"):
            specs.append({**v, "seed": seed, "cache": cache, "val_records": args.val_records, "resume": args.resume,
                          "held_out": held_out,
                          "image_size": args.image_size,
                          "samples": args.samples, "out": os.path.join(args.out, f"{v['name']}-s{seed}")})
    # Each run's NumPy (the zoom crops' matrix products) gets its share of the cores: a BLAS pool of every
    # core in each of several runs oversubscribes the machine (zoom runs crawled at ~150 s an epoch).
    threads = str(max(1, (os.cpu_count() or 1) // args.parallel))
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
           **{v: threads for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    running, results, t0 = [], [], time.time()
    pending = []
    for s in specs:
        done = os.path.join(s["out"], "sweep_result.json")
        finished = None
        if args.resume and os.path.exists(done):
            with open(done) as f:
                finished = json.load(f)
        if finished and not finished.get("stopped"):
            results.append(finished)
        else:  # new, or stopped before its last epoch: --resume continues it
            pending.append(s)
    # Runs stop training (after a whole epoch, checkpointed) early enough to be scored before the deadline;
    # the deadline itself kills whatever still runs.
    stop_before = t0 + args.deadline - args.score_reserve if args.deadline else None
    while pending or running:
        while pending and len(running) < args.parallel:
            if stop_before and time.time() > stop_before:
                for s in pending:
                    print(f"NOT STARTED before the deadline: {os.path.basename(s['out'])}", flush=True)
                pending = []
                break
            s = {**pending.pop(0), "stop_before": stop_before}
            os.makedirs(s["out"], exist_ok=True)
            log = open(os.path.join(s["out"], "train.log"), "a" if args.resume else "w")
            running.append((s, subprocess.Popen([sys.executable, __file__, "--out", args.out, "--one", json.dumps(s)],
                                                stdout=log, stderr=subprocess.STDOUT, env=env)))
        time.sleep(2)
        if args.deadline and time.time() - t0 > args.deadline:
            for s, proc in running:
                proc.kill()
                print(f"STOPPED at the deadline: {os.path.basename(s['out'])}", flush=True)
            running, pending = [], []
        for s, proc in list(running):
            if proc.poll() is None:
                continue
            running.remove((s, proc))
            path = os.path.join(s["out"], "sweep_result.json")
            if proc.returncode or not os.path.exists(path):
                print(f"FAILED {s['out']} (exit {proc.returncode})", flush=True)
                continue
            with open(path) as f:
                r = json.load(f)
            results.append(r)
            if r["stopped"]:
                print(f"{time.time() - t0:5.0f}s {os.path.basename(s['out'])} STOPPED after epoch {r['epochs_done']} "
                      f"of {r['epochs']}, not scored (--resume continues it)", flush=True)
                continue
            first, one = next(iter(r["scores"].items()))  # the first temperature and vividness asked
            smp = one["samples"] or {}
            print(f"{time.time() - t0:5.0f}s {os.path.basename(s['out'])} {first}: val AuC {one['val']['auc']:.2f} "
                  f"(grey {one['val_grey_auc']:.2f}) hue {one['val']['hue_balanced_recall']:.1f} "
                  f"colourfulness {one['val']['colourfulness']:.2f}/{one['val_original_colourfulness']:.2f}, "
                  f"samples AuC {smp.get('auc', 0):.2f} hue {smp.get('hue_balanced_recall') or 0:.1f}, "
                  f"best epoch {r['best_epoch']}, {r['seconds']:.0f} s", flush=True)
    with open(os.path.join(args.out, "sweep.json"), "w") as f:
        json.dump(results, f, indent=1)
    if args.keep_to:
        keep(results, args.keep, args.keep_to)
        shutil.copy(os.path.join(args.out, "sweep.json"), args.keep_to)


def choice_score(r):
    """The rule that picks the shipped run: the best val (held-out sources') hue-balanced recall among the run's
    decodings (temperature, vividness) whose val AuC is at most 0.3 under grayscale's and whose colourfulness is
    0.85-1.15 of the originals'; -1 when none qualifies. A hints model's scores with hints (no grayscale figures
    of their own) do not choose: the automatic colorization does."""
    return max(s["val"]["hue_balanced_recall"]
               if s["val"]["auc"] >= s["val_grey_auc"] - 0.3
               and 0.85 <= s["val"]["colourfulness"] / s["val_original_colourfulness"] <= 1.15 else -1
               for s in r["scores"].values() if "val_grey_auc" in s)


def keep(results, n, dest):
    os.makedirs(dest, exist_ok=True)
    for i, r in enumerate(sorted(results, key=choice_score, reverse=True)[:n]):
        with open(os.path.join(r["out"], "model.keras"), "rb") as f:
            data = f.read()
        for j in range(0, len(data), 15 << 20):
            with open(os.path.join(dest, f"keep{i}-model.keras.part{j // (15 << 20)}"), "wb") as f:
                f.write(data[j:j + (15 << 20)])
        shutil.copy(os.path.join(r["out"], "model.json"), os.path.join(dest, f"keep{i}-model.json"))
        print(f"kept {os.path.basename(r['out'])} as keep{i}", flush=True)


if __name__ == "__main__":
    main()
