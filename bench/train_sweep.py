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
from concurrent.futures import ProcessPoolExecutor

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tfrecords import contract as c  # noqa: E402
from tfrecords import records  # noqa: E402
from basics import photos, view  # noqa: E402

IMAGE_SIZE = 128  # default --image-size
# A variant's settings where it names none (model.choices.Recipe's fields, and how the sweep scores it).
DEFAULTS = {"epochs": 100, "batch_size": 32, "learning_rate": 1e-3, "rebalance": 0.8, "temperature": 0.38,
            "lr_schedule": "constant", "ema": False, "augment": "flip", "seeds": [1, 2], "vividness": [1.0],
            "temperatures": [0.38], "skips": False, "decoder_width": 1, "flips": [False], "weights": {},
            "context": False, "encoder": "scratch", "encoder_training": "finetune", "checkpoint_parts_mb": 0}
SCORED = ("auc", "acc@10", "psnr", "colourfulness", "hue_balanced_recall", "hue_recall")


def _one(args):
    path, rel, size = args
    try:
        with open(path, "rb") as f:
            rgb = photos.decode_rgb(f.read())
        l_q, ab_q, _ = view.training_example(rgb, size)
    except (photos.SkipImage, OSError, ValueError) as e:
        return rel, None, None, str(e)
    return rel, l_q, ab_q, None


def build_arrays(folder, size, val_fraction, workers):
    """A photo folder -> {split: {"l": uint8 [N,s,s], "ab": int8 [N,s,s,2]}} as preprocess splits it."""
    jobs = []
    for root, _, names in os.walk(folder):
        for name in sorted(names):
            path = os.path.join(root, name)
            if photos.is_image_name(path):
                jobs.append((path, os.path.relpath(path, folder), size))
    out = {s: {"l": [], "ab": []} for s in c.SPLITS}
    skipped = 0
    with ProcessPoolExecutor(workers) as pool:
        for rel, l_q, ab_q, why in pool.map(_one, sorted(jobs), chunksize=16):
            if why:
                skipped += 1
                continue
            split = c.split_of(rel, val_fraction)
            out[split]["l"].append(l_q)
            out[split]["ab"].append(ab_q)
    print(f"{folder}: {len(jobs)} photos, {skipped} skipped, "
          + ", ".join(f"{s} {len(v['l'])}" for s, v in out.items()), flush=True)
    return {s: {k: np.stack(v) for k, v in d.items()} for s, d in out.items() if d["l"]}


def load_arrays(out, named, size, workers):
    """{NAME/SPLIT/l|ab: array} of every NAME=FOLDER, each folder's arrays cached in out/arrays-NAME.npz (so a
    source carried to the machine later is built alone; val_fraction 1: every photo a validation photo)."""
    arrays = {}
    for item, fraction in named:
        name, folder = item.split("=", 1)
        cache = os.path.join(out, f"arrays-{name}.npz")
        if not os.path.exists(cache):
            t = time.time()
            built = build_arrays(folder, size, fraction, workers)
            np.savez(cache + ".tmp.npz", **{f"{name}/{s}/{k}": v for s, d in built.items() for k, v in d.items()})
            os.replace(cache + ".tmp.npz", cache)
            print(f"{name}: arrays in {time.time() - t:.0f} s", flush=True)
        arrays[name] = cache
    return arrays


def model_arrays(parts):
    """Quantized arrays of several folders -> the float arrays the trainer's ArrayBatches reads."""
    l = np.concatenate([p["l"] for p in parts])[..., None].astype(np.float32)
    ab = np.concatenate([p["ab"] for p in parts]).astype(np.float32)
    return {"l": c.model_l_from_record(l), "ab": c.model_ab_from_record(ab)}


def source_parts(cache, sources, weights):
    """Cached arrays ("SOURCE/SPLIT/l", "SOURCE/SPLIT/ab") -> {split: [{"l", "ab"}, ...]} of the sources asked,
    in their order, each source's training arrays
    weights.get(source, 1) times: a per-source mix; the validation split is never repeated."""
    parts = {}
    for split in c.SPLITS:
        parts[split] = [{"l": cache[f"{src}/{split}/l"], "ab": cache[f"{src}/{split}/ab"]}
                        for src in sources if f"{src}/{split}/l" in cache
                        for _ in range(int(weights.get(src, 1)) if split == "train" else 1)]
    return parts


def train_one(spec):
    """Child process: one (variant, seed) from the cached arrays to a scored model directory."""
    import keras

    from model import checkpoints, choices, evaluate, modeldir, quantized
    from model import train as training
    from model.training_data import ArrayBatches
    keras.utils.set_random_seed(spec["seed"])
    cache = {}
    for path in spec["cache"].values():
        cache.update(np.load(path))
    parts = source_parts(cache, spec["sources"], spec["weights"])
    train_a, random_a = model_arrays(parts["train"]), model_arrays(parts["val"])
    held_out = spec.get("held_out") or []
    val_a = model_arrays(source_parts(cache, held_out, {})["val"]) if held_out else random_a
    recipe = choices.Recipe(architecture="beta", epochs=spec["epochs"], batch_size=spec["batch_size"],
                             learning_rate=spec["learning_rate"], loss="classification",
                             rebalance=spec["rebalance"], temperature=spec["temperature"], seed=spec["seed"],
                             lr_schedule=spec["lr_schedule"], ema=spec["ema"], augment=spec["augment"],
                             skips=spec["skips"], decoder_width=spec["decoder_width"],
                             context=spec["context"], encoder=spec["encoder"],
                             encoder_training=spec["encoder_training"])
    train = ArrayBatches(train_a, recipe.batch_size, False, recipe.seed, True, augment=recipe.augment)
    val = ArrayBatches(val_a, recipe.batch_size, False, recipe.seed, False)
    size = spec["image_size"]
    fields = training.model_fields(recipe, size, None)
    out = spec["out"]

    def val_scores(model, vividness=1.0, arrays=None):
        """The val split of the records named, else the arrays (the held-out sources', or the random split's)."""
        if spec["val_records"] and arrays is None:
            info = c.read_dataset_json(spec["val_records"])
            return evaluate.on_records(model, fields, spec["val_records"], "val", info, vividness=vividness)
        arrays = val_a if arrays is None else arrays
        named = {**arrays, "source": [f"val/{j}" for j in range(len(arrays["l"]))]}
        return evaluate.on_batches(model, fields, records.array_batches(named, evaluate.PREDICT_BATCH),
                                   "held-out sources" if held_out and arrays is val_a else "val arrays",
                                   vividness=vividness)

    def weights():  # as model.train.bin_weights, from REBALANCE_SAMPLE training photos spread over every source
        every = max(1, len(train_a["ab"]) // training.REBALANCE_SAMPLE)
        return quantized.rebalancing_weights(train_a["ab"][::every][:training.REBALANCE_SAMPLE], mix=recipe.rebalance)
    resume = spec.get("resume") and os.path.exists(os.path.join(out, checkpoints.STATE))
    start = time.time()
    final = training.train_network(
        recipe, out, fields, train, val, weights,
        data={"sources": spec["sources"], "train_photos": int(len(train_a["l"])), "image_size": size,
              "built_by": "bench/train_sweep.py"},
        score=val_scores, resume=resume, stop_before=spec.get("stop_before"),
        part_bytes=spec.get("checkpoint_parts_mb", 0) * 2**20 or None)
    seconds = time.time() - start
    epochs = modeldir.read_card(out)["training"]["epochs"]
    samples = []
    for name in sorted(os.listdir(spec["samples"])) if spec["samples"] else ():
        with open(os.path.join(spec["samples"], name), "rb") as f:
            samples.append((name, f.read()))
    scores = {}
    probs = keras.Model(final.input, final.get_layer("annealed_mean").input)
    for t, v, flip in [(t, v, f) for t in spec["temperatures"] for v in spec["vividness"] for f in spec["flips"]]:
        decoded = quantized.inference_model(probs, t, flip_average=flip)
        val_m = val_scores(decoded, v)
        smp = evaluate.on_photos(decoded, fields, samples, "sample photos", vividness=v) if samples else None
        rnd = val_scores(decoded, v, random_a) if held_out and len(random_a["l"]) else None
        scores[f"T{t} x{v}" + (" flip" if flip else "")] = {
                          "val": {k: val_m["model"][k] for k in SCORED},
                          "random": {k: rnd["model"][k] for k in SCORED} if rnd else None,
                          "random_grey_auc": rnd["grayscale_baseline"]["auc"] if rnd else None,
                          "samples": {k: smp["model"][k] for k in SCORED if k != "psnr"} if smp else None,
                          "val_original_colourfulness": val_m["original"]["colourfulness"],
                          "val_grey_auc": val_m["grayscale_baseline"]["auc"],
                          "samples_grey_auc": smp["grayscale_baseline"]["auc"] if smp else None,
                          "samples_original_colourfulness": smp["original"]["colourfulness"] if smp else None}
    val_losses = checkpoints.history_column(out, "val_loss")  # resumed runs' earlier epochs too
    best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else None
    result = {**spec, "train_photos": int(len(train_a["l"])), "val_photos": int(len(val_a["l"])),
              "seconds": round(seconds, 1),
              "best_epoch": best_epoch, "epochs_done": epochs, "stopped": epochs < spec["epochs"], "scores": scores}
    with open(os.path.join(out, "sweep_result.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


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
            first, one = next(iter(r["scores"].items()))  # the first temperature and vividness asked
            smp = one["samples"] or {}
            print(f"{time.time() - t0:5.0f}s {os.path.basename(s['out'])} {first}: val AuC {one['val']['auc']:.2f} "
                  f"(grey {one['val_grey_auc']:.2f}) hue {one['val']['hue_balanced_recall']:.1f} "
                  f"colourfulness {one['val']['colourfulness']:.2f}/{one['val_original_colourfulness']:.2f}, "
                  f"samples AuC {smp.get('auc', 0):.2f} hue {smp.get('hue_balanced_recall') or 0:.1f}, "
                  f"best epoch {r['best_epoch']}, {r['seconds']:.0f} s"
                  + (f", STOPPED after epoch {r['epochs_done']} of {r['epochs']} (--resume continues it)"
                     if r["stopped"] else ""), flush=True)
    with open(os.path.join(args.out, "sweep.json"), "w") as f:
        json.dump(results, f, indent=1)
    if args.keep_to:
        keep(results, args.keep, args.keep_to)
        shutil.copy(os.path.join(args.out, "sweep.json"), args.keep_to)


def choice_score(r):
    """The rule that picks the shipped run: the best val (held-out sources') hue-balanced recall among the run's
    decodings (temperature, vividness) whose val AuC is at most 0.3 under grayscale's and whose colourfulness is
    0.85-1.15 of the originals'; -1 when none qualifies."""
    return max(s["val"]["hue_balanced_recall"]
               if s["val"]["auc"] >= s["val_grey_auc"] - 0.3
               and 0.85 <= s["val"]["colourfulness"] / s["val_original_colourfulness"] <= 1.15 else -1
               for s in r["scores"].values())


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
