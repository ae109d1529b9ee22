#!/usr/bin/env bash
# Issue 27: every optimizer against an independent float64 recomputation (bench/reference/optimizers.py:
# PyTorch's SGD, Adam, AdamW and clip_grad_norm_; LARS and LAMB from the papers' algorithm boxes), over
# K steps with 2 workers on real CIFAR-10 (the reference CNN). Each run saves the mean gradient it applied
# (--save-gradients K); the reference replays them from the step-0 weights and compares the step-K weights
# and optimizer state. Lines go to bench/results/optimizers/reference.jsonl; exits 1 if any check fails.
# Usage: [K=8] [PYTHON=/usr/bin/python3] [TOL=1e-5] bench/optimizer-reference.sh
set -euo pipefail
cd "$(dirname "$0")/.."
K=${K:-8}
PYTHON=${PYTHON:-/usr/bin/python3}
TOL=${TOL:-1e-5}
OUT=bench/results/optimizers
mkdir -p "$OUT"
work=$(mktemp -d)
common=(--workers 2 --dataset cifar10 --limit-train 5000 --limit-test 500 --batch-size 64 --max-steps "$K"
  --save-gradients "$K" --eval-every 1000000)
declare -A runs=(
  [sgd]="--optimizer sgd --lr 0.05 --weight-decay 5e-4"
  [momentum]="--optimizer momentum --momentum 0.9 --lr 0.05 --weight-decay 5e-4"
  [nesterov-clip]="--optimizer nesterov --momentum 0.9 --lr 0.05 --clip-grad-norm 0.3"
  [adam]="--optimizer adam --lr 0.001 --weight-decay 1e-4"
  [adamw]="--optimizer adamw --lr 0.001 --weight-decay 0.05 --lr-schedule cosine"
  [adamw-exclude1d]="--optimizer adamw --lr 0.001 --weight-decay 0.05 --exclude-1d --warmup-steps 4"
  [lars]="--optimizer lars --momentum 0.9 --lr 2 --weight-decay 5e-4"
  [lamb]="--optimizer lamb --lr 0.01 --weight-decay 0.01 --clip-grad-norm 0.45"
)
status=0
for name in sgd momentum nesterov-clip adam adamw adamw-exclude1d lars lamb; do
  # shellcheck disable=SC2086
  node scripts/dist/src/cli.js launch "${common[@]}" ${runs[$name]} --out "$work/$name" > "$work/$name.log" 2>&1
  if ! "$PYTHON" bench/reference/optimizers.py "$work/$name" --tol "$TOL" | tee -a "$OUT/reference.jsonl"; then
    status=1
  fi
done
echo "runs in $work; results appended to $OUT/reference.jsonl"
exit $status
