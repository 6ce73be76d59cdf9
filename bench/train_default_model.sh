#!/usr/bin/env bash
# Reproduces the model shipped in model/default/ from the 1603 photos of ../shared/data/photos.
# The trainer runs on any Keras backend; on a GPU with JAX (KERAS_BACKEND=jax) it takes about
# 2 minutes, on CPU with TensorFlow several hours. The records carry seeded random-weight Inception
# embeddings so that the fusion variant can be trained on the same records for comparison.
set -euo pipefail
PHOTOS=${PHOTOS:-../shared/data/photos}
DATA=${DATA:-data/photos128}
OUT=${OUT:-model/default}
colorize preprocess --input "$PHOTOS" --output "$DATA" --image-size 128 \
    --inception-weights random --val-fraction 0.1
colorize train --model beta --data "$DATA" --output "$OUT" --epochs 100 --batch-size 32 \
    --loss classification --rebalance 0.8
# The comparisons that chose it (see "variant_choice" and "experiments" in model/default/model.json):
# colorize train --model beta --data "$DATA" --output runs/mse128 --epochs 100 --batch-size 32
# colorize train --model fusion --data "$DATA" --output runs/fusion128 --epochs 100 --batch-size 32
# colorize train --model beta --data "$DATA" --output runs/cls128-l05 --epochs 100 --batch-size 32 \
#     --loss classification --rebalance 0.5
