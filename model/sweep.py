"""The training sweeps' data and runs: photo folders -> the arrays `colorize preprocess --embedding none` would write
(the same per-photo function and split rule), and one (variant, seed) trained through model.train.train_network,
the path `colorize train` takes, then scored at every decoding asked. bench/train_sweep.py runs many at once on
one GPU; the shipped model's recipes were chosen this way (docs/model-card.md).

    NAME=FOLDER --build_arrays (view.training_example, c.split_of)--> {split: {"l", "ab"}} --load_arrays: cached in
    OUT/arrays-NAME.npz --source_parts + model_arrays--> train / random-split / held-out arrays --train_one-->
    RUN/model.keras, its card, RUN/sweep_result.json
"""
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from basics import photos, view
from tfrecords import contract as c
from tfrecords import records

IMAGE_SIZE = 128  # default --image-size
# A variant's settings where it names none (model.choices.Recipe's fields, and how the sweep scores it).
DEFAULTS = {"epochs": 100, "batch_size": 32, "learning_rate": 1e-3, "rebalance": 0.8, "temperature": 0.38,
            "lr_schedule": "constant", "ema": False, "augment": "flip", "seeds": [1, 2], "vividness": [1.0],
            "temperatures": [0.38], "skips": False, "decoder_width": 1, "flips": [False], "weights": {},
            "context": False, "encoder": "scratch", "encoder_training": "finetune", "checkpoint_parts_mb": 0,
            "hints": False}
HINT_POINTS = (1, 3, 10)  # a hints model is scored with that many hints from the truth too
SCORED = ("auc", "acc@10", "psnr", "colourfulness", "hue_balanced_recall", "hue_recall")


def _one(args: tuple) -> tuple:
    path, rel, size = args
    try:
        with open(path, "rb") as f:
            rgb = photos.decode_rgb(f.read())
        l_q, ab_q, _ = view.training_example(rgb, size)
    except (photos.SkipImage, OSError, ValueError) as e:
        return rel, None, None, str(e)
    return rel, l_q, ab_q, None


def build_arrays(folder: str, size: int, val_fraction: float, workers: int) -> dict:
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


def load_arrays(out: str, named: list[tuple[str, float]], size: int, workers: int) -> dict[str, str]:
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


def model_arrays(parts: list[dict]) -> dict[str, np.ndarray]:
    """Quantized arrays of several folders -> the float arrays the trainer's ArrayBatches reads."""
    l = np.concatenate([p["l"] for p in parts])[..., None].astype(np.float32)
    ab = np.concatenate([p["ab"] for p in parts]).astype(np.float32)
    return {"l": c.model_l_from_record(l), "ab": c.model_ab_from_record(ab)}


def source_parts(cache: Any, sources: list[str], weights: dict) -> dict[str, list[dict]]:
    """Cached arrays ("SOURCE/SPLIT/l", "SOURCE/SPLIT/ab") -> {split: [{"l", "ab"}, ...]} of the sources asked,
    in their order, each source's training arrays
    weights.get(source, 1) times: a per-source mix; the validation split is never repeated."""
    parts = {}
    for split in c.SPLITS:
        parts[split] = [{"l": cache[f"{src}/{split}/l"], "ab": cache[f"{src}/{split}/ab"]}
                        for src in sources if f"{src}/{split}/l" in cache
                        for _ in range(int(weights.get(src, 1)) if split == "train" else 1)]
    return parts


def train_one(spec: dict) -> dict:
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
                             encoder_training=spec["encoder_training"], hints=spec["hints"])
    train = ArrayBatches(train_a, recipe.batch_size, False, recipe.seed, True, augment=recipe.augment,
                         hints=recipe.hints)
    val = ArrayBatches(val_a, recipe.batch_size, False, recipe.seed, False, hints=recipe.hints)
    size = spec["image_size"]
    fields = training.model_fields(recipe, size, None)
    out = spec["out"]

    def val_scores(model: Any, vividness: float = 1.0, arrays: dict | None = None, hint_points: int = 0) -> dict:
        """The val split of the records named, else the arrays (the held-out sources', or the random split's)."""
        if spec["val_records"] and arrays is None:
            info = c.read_dataset_json(spec["val_records"])
            return evaluate.on_records(model, fields, spec["val_records"], "val", info, vividness=vividness)
        arrays = val_a if arrays is None else arrays
        named = {**arrays, "source": [f"val/{j}" for j in range(len(arrays["l"]))]}
        return evaluate.on_batches(model, fields, records.array_batches(named, evaluate.PREDICT_BATCH),
                                   "held-out sources" if held_out and arrays is val_a else "val arrays",
                                   vividness=vividness, hint_points=hint_points)

    def weights() -> np.ndarray:  # as model.train.bin_weights, from REBALANCE_SAMPLE photos spread over every source
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
    stopped = epochs < spec["epochs"]
    probs = keras.Model(final.input, final.get_layer("annealed_mean").input)
    # A stopped run is scored when --resume finishes it: scoring it now would spend the call's last minutes on
    # figures the finished run replaces.
    grid = [] if stopped else [(t, v, f) for t in spec["temperatures"] for v in spec["vividness"] for f in spec["flips"]]
    for t, v, flip in grid:
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
        for n in HINT_POINTS if spec["hints"] else ():  # the held-out set with hints drawn from its truth
            hinted = val_scores(decoded, v, hint_points=n)["model"]
            scores[f"T{t} x{v}" + (" flip" if flip else "") + f" {n} points"] = {"val": {k: hinted[k] for k in SCORED}}
    val_losses = checkpoints.history_column(out, "val_loss")  # resumed runs' earlier epochs too
    best_epoch = int(np.argmin(val_losses)) + 1 if val_losses else None
    result = {**spec, "train_photos": int(len(train_a["l"])), "val_photos": int(len(val_a["l"])),
              "seconds": round(seconds, 1),
              "best_epoch": best_epoch, "epochs_done": epochs, "stopped": stopped, "scores": scores}
    with open(os.path.join(out, "sweep_result.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


