#!/usr/bin/env bash
# Issue 17: what compressed gradients cost in accuracy on real CIFAR-10. The momentum experiment's momentum
# run (reference CNN, batch 64, lr 0.01, Keras-form momentum 0.9, 40,000 train / 10,000 validation, 10
# epochs, 2 wasm workers), with gradients sent as fp32, bf16, fp16 and int8 (error feedback at the worker),
# same seed; fp32 also with seeds 2 and 3 for the seed-to-seed spread the others are judged against. Issue 29:
# int8 both ways (--grad-wire int8 --weight-wire int8), seeds 1-3; then fp32 and int8 both ways with seeds 4-6
# (tenth session), so that each mean rests on six seeds.
#
# Resumable: a run whose summary.json says "completed" is kept; an interrupted one continues from its
# newest checkpoint. Results: bench/results/grad-wire-cifar10/ (table.md, one directory per run).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/grad-wire-cifar10
mkdir -p "$OUT"
{ echo "machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)";
  echo "node: $(node --version); dtrain: $(node scripts/dist/src/cli.js --version)"; echo "started: $(date -u +%FT%TZ)"; } >> "$OUT/machine.txt"
run() { # name grad-wire seed [weight-wire]
  local dir="$OUT/$1"
  if grep -qs '"status": *"completed"' "$dir/summary.json"; then echo "$1: already completed; kept"; return; fi
  node scripts/dist/src/cli.js launch --dataset cifar10 --val-fraction 0.2 --batch-size 64 --epochs 10 --lr 0.01 \
    --momentum 0.9 --momentum-form keras --seed "$3" --grad-wire "$2" --weight-wire "${4:-fp32}" --workers 2 --backend wasm \
    --checkpoint-seconds 120 --keep-checkpoints 1 --out "$dir" --resume auto
  node bench/archive-run.mjs "$dir"
}
run fp32-s1 fp32 1
run int8-s1 int8 1
run bf16-s1 bf16 1
run fp16-s1 fp16 1
run fp32-s2 fp32 2
run fp32-s3 fp32 3
run int8both-s1 int8 1 int8
run int8both-s2 int8 2 int8
run int8both-s3 int8 3 int8
for seed in 4 5 6; do
  run "fp32-s$seed" fp32 "$seed"
  run "int8both-s$seed" int8 "$seed" int8
done
node bench/grad-wire-table.mjs "$OUT" > "$OUT/table.md"
cat "$OUT/table.md"
