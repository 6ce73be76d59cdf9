#!/usr/bin/env bash
# Reproduces the model shipped in model/default/ from ../shared/data/photos and ../shared/data/photos-more.
# The trainer runs on any Keras backend; on a GPU with JAX (KERAS_BACKEND=jax) it takes about
# 4 minutes, on CPU with TensorFlow many hours. The shipped run was trained by bench/train_sweep.py
# (variant "w2-l085", seed 2) from the same arrays this preprocess writes, made from copies of the
# photos cut to their centre square at 132 px (JPEG q80): runs on a GPU are not bit-reproducible, and
# seeds differ by up to ~0.3 validation AuC (see "levers" in model/default/model.json).
# The validation split of ../shared/data/photos is the same as data/photos128's (split by relative path),
# so `colorize evaluate --data data/photos128 --split val` scores photos it never trained on.
set -euo pipefail
PHOTOS=${PHOTOS:-../shared/data/photos}
MORE=${MORE:-../shared/data/photos-more}
DATA=${DATA:-data/mix128}
OUT=${OUT:-model/default}
colorize preprocess --input "$PHOTOS" --input "$MORE" --output "$DATA" --image-size 128 \
    --embedding none --val-fraction 0.1
colorize train --model beta --data "$DATA" --output "$OUT" --epochs 40 --batch-size 32 \
    --loss classification --rebalance 0.85 --lr-schedule cosine --ema --skips --decoder-width 2 --seed 2
# The model shipped before (beta, photos alone, lambda 0.8, constant learning rate, 100 epochs), and the
# comparisons that chose it (see "experiments" in model/default/model.json):
# colorize preprocess --input "$PHOTOS" --output data/photos128 --image-size 128 --inception-weights random --val-fraction 0.1
# colorize train --model beta --data data/photos128 --output runs/cls128-l08 --epochs 100 --batch-size 32 \
#     --loss classification --rebalance 0.8
# colorize train --model beta --data data/photos128 --output runs/mse128 --epochs 100 --batch-size 32
# colorize train --model fusion --data data/photos128 --output runs/fusion128 --epochs 100 --batch-size 32
