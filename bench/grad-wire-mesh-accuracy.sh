#!/usr/bin/env bash
# Issue 29: the accuracy of int8 both ways THROUGH THE MESH (sharded summation) on real CIFAR-10, the
# bench/grad-wire-accuracy.sh protocol (reference CNN, batch 64, lr 0.01, Keras-form momentum 0.9, 40,000
# train / 10,000 validation, 10 epochs, wasm kernels, seeds 1-3), but the two workers sit behind two relays
# (one each) on this machine, so every step's sum goes through the two owners' slices: hosts compress their
# sums with their residuals, owners their joined slices with theirs, the weight delta goes out in slices.
# Compared with the fp32 seeds of grad-wire-accuracy.sh (fp32 through the mesh is bitwise the star's sum).
#
# Resumable: a run whose summary.json says "completed" is kept; an interrupted one continues from its
# newest checkpoint (--resume auto). Results: bench/results/grad-wire-cifar10/int8mesh-sN/, table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/grad-wire-cifar10
DTRAIN="node scripts/dist/src/cli.js"
mkdir -p "$OUT"
{ echo "mesh accuracy: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)";
  echo "node: $(node --version); dtrain: $($DTRAIN --version)"; echo "started: $(date -u +%FT%TZ)"; } >> "$OUT/machine.txt"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT TERM INT
run() { # name seed
  local dir="$OUT/$1" port=$((7300 + $2))
  if grep -qs '"status": *"completed"' "$dir/summary.json"; then echo "$1: already completed; kept"; return; fi
  $DTRAIN coordinator --dataset cifar10 --val-fraction 0.2 --batch-size 64 --epochs 10 --lr 0.01 --momentum 0.9 \
    --momentum-form keras --seed "$2" --grad-wire int8 --weight-wire int8 --workers 2 --port "$port" \
    --checkpoint-seconds 120 --keep-checkpoints 1 --out "$dir" --resume auto &
  local coord=$!; pids=("$coord")
  for r in 0 1; do
    $DTRAIN relay --connect "ws://127.0.0.1:$port" --local 1 --backend wasm --name "host$r" --give-up 60 \
      > "$dir.relay$r.log" 2>&1 & pids+=($!)
  done
  wait "$coord"
  wait "${pids[@]:1}" || true
  pids=()
  node bench/archive-run.mjs "$dir"
}
for s in ${SEEDS:-1 2 3}; do run "int8mesh-s$s" "$s"; done
node bench/grad-wire-table.mjs "$OUT" > "$OUT/table.md"
cat "$OUT/table.md"
