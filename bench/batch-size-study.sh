#!/usr/bin/env bash
# The batch-size study on real CIFAR-10 (issue 16): the reference CNN, plain SGD vs momentum 0.9, batch
# sizes 16..4096 (every factor of 4), a 3-point learning-rate grid per batch size (sqrt-scaled from batch
# 64), target 60% validation accuracy, at most 12 epochs, each run stopped at the target. Where momentum's
# best learning rate sat at the top of that grid (batch 64 and 256), a fourth point (base 1.0) extends it
# for momentum at every batch size >= 64 (the second sweep below, same directory).
# Kernels: --backend wasm-simd, the build every run of the study used (the FMA build came later).
#
# Resumable: run it again and it skips finished runs and continues the interrupted one from its newest
# checkpoint (at most --checkpoint-seconds old). Run it in pieces: `timeout 110m bench/batch-size-study.sh`.
# Results and the report: bench/results/batch-size-cifar10/ (sweep/ holds each run's records).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/batch-size-cifar10
mkdir -p "$OUT"
{ echo "machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)";
  echo "node: $(node --version); dtrain: $(node scripts/dist/src/cli.js --version)"; echo "started: $(date -u +%FT%TZ)"; } >> "$OUT/machine.txt"
# The sweep runs in the background so that a TERM (e.g. from `timeout`) reaches it and the archive below
# still runs; its checkpoint is at most --checkpoint-seconds old.
node scripts/dist/src/cli.js sweep \
  --dataset cifar10 --val-fraction 0.1 \
  --batch-sizes 16,64,256,1024,4096 --optimizers sgd,momentum --momenta 0.9 --momentum-form ema \
  --lr-scalings sqrt --base-batch-size 64 --lrs 0.03,0.1,0.3 --seeds 1 \
  --target 0.6 --stop-at-target --evals-per-epoch 4 --epochs 12 \
  --local 2 --backend wasm-simd --checkpoint-seconds 300 --keep-checkpoints 1 \
  --out "$OUT/sweep" "$@" &
sweep=$!
trap 'kill -TERM "$sweep" 2>/dev/null' TERM INT
wait "$sweep" || status=$?
wait "$sweep" 2>/dev/null || true
if [ "${status:-0}" = 0 ]; then
  node scripts/dist/src/cli.js sweep \
    --dataset cifar10 --val-fraction 0.1 \
    --batch-sizes 64,256,1024,4096 --optimizers momentum --momenta 0.9 --momentum-form ema \
    --lr-scalings sqrt --base-batch-size 64 --lrs 1 --seeds 1 \
    --target 0.6 --stop-at-target --evals-per-epoch 4 --epochs 12 \
    --local 2 --backend wasm-simd --checkpoint-seconds 300 --keep-checkpoints 1 \
    --out "$OUT/sweep" "$@" &
  sweep=$!
  wait "$sweep" || status=$?
  wait "$sweep" 2>/dev/null || true
fi

# Archive finished runs for the repository (bench/archive-run.mjs: checkpoints removed, step records cut to
# what reports read, gzipped); the unfinished run keeps its newest checkpoint and metrics to continue from.
for summary in "$OUT"/sweep/*/summary.json; do
  if grep -qE '"status": *"(completed|diverged)"' "$summary"; then node bench/archive-run.mjs "$(dirname "$summary")"; fi
done
# The report over every finished run of both sweeps (the second sweep's own report covers only its runs).
node scripts/dist/src/cli.js report --sweep "$OUT/sweep" --target 0.6 >/dev/null || true
exit "${status:-0}"
