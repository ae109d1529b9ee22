#!/usr/bin/env bash
# Issue 26: a residual network with ghost batch norm against an independent float64 PyTorch recomputation
# (bench/reference/resnet_bn.py): 2 workers, real CIFAR-10 (augmented, normalized), K steps of momentum SGD
# with weight decay; compares the step-K weights, running statistics and velocity to TOL.
# Needs `dtrain data fetch cifar10` and python3 with torch (Debian: apt-get install python3-torch).
# BACKEND: the workers' --backend (wasm, cpu, ...).
# Usage: [K=5] [TOL=1e-4] [MODEL=resnet8] [BACKEND=wasm] [PYTHON=/usr/bin/python3] [OUT=bench/results/resnet-bn/reference.txt] \
#          bench/resnet-bn-reference.sh
set -euo pipefail
cd "$(dirname "$0")/.."
K=${K:-5}
TOL=${TOL:-1e-4}
MODEL=${MODEL:-resnet8}
BACKEND=${BACKEND:-wasm}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-bench/results/resnet-bn/reference.txt}
mkdir -p "$(dirname "$OUT")"
run=$(mktemp -d)/run
trap 'rm -rf "$(dirname "$run")"' EXIT
node scripts/dist/src/cli.js launch --workers 2 --backend "$BACKEND" --model "$MODEL" --dataset cifar10 --limit-train 5000 --val-fraction 0 \
  --limit-test 500 --augment --normalize --batch-size 64 --group-size 16 --max-steps "$K" --lr 0.05 --momentum 0.9 \
  --weight-decay 5e-4 --checkpoint-every 1 --out "$run" > "$run.log" 2>&1 || { tail -5 "$run.log"; exit 1; }
node bench/reference/dump-batches.mjs "$run" "$K"
echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) backend $BACKEND" >> "$OUT"
"$PYTHON" bench/reference/resnet_bn.py "$run" "$K" --tol "$TOL" | tee -a "$OUT"
