#!/usr/bin/env bash
# Issue 26's accuracy run: ResNet-20 (He et al. 2016, option A) on CIFAR-10 to >= 90% test accuracy in <= 40
# epochs, on 2 workers of this machine. Random crop (4-pixel padding) + horizontal flip, per-channel
# normalization, momentum 0.9, weight decay 5e-4, batch 128 (ghost batch norm over groups of 32), lr 0.1 with
# 2 epochs of linear warmup then cosine to 0; 98% of the training set trains, 1,000 images validate, the test
# set is evaluated every epoch. Resumable: run it again and it continues from the newest checkpoint (one is
# written every 10 minutes), so it can run in pieces of a session each; commit RUN between pieces.
# Needs `dtrain data fetch cifar10`. Usage: [RUN=bench/results/resnet20-cifar10/run] bench/resnet20-cifar10.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-bench/results/resnet20-cifar10/run}
if [ -d "$RUN/checkpoints" ]; then
  exec node scripts/dist/src/cli.js launch --workers 2 --resume "$RUN"
fi
mkdir -p "$(dirname "$RUN")"
exec node scripts/dist/src/cli.js launch --workers 2 --model resnet20 --dataset cifar10 --augment --normalize \
  --val-fraction 0.02 --batch-size 128 --group-size 32 --epochs 40 --lr 0.1 --momentum 0.9 --weight-decay 5e-4 \
  --lr-schedule cosine --warmup-steps 766 --checkpoint-seconds 600 --keep-checkpoints 1 --seed 1 --out "$RUN"
