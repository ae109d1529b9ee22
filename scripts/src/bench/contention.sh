#!/usr/bin/env bash
# How much a busy core slows dtrain's compute on this machine (bench/RESULTS.md, fifth session):
# `bench compute` alone, beside an integer loop in another process, and two `bench compute` at once.
# Usage: scripts/src/bench/contention.sh [rounds]   (after `npm run build`)
set -euo pipefail
cd "$(dirname "$0")/../../.."
CLI=scripts/dist/src/cli.js
ms() { node "$CLI" bench compute --backend wasm --batch-size 64 --steps 150 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).msPerBatch))'; }
for _ in $(seq "${1:-3}"); do
  alone=$(ms)
  node -e 'let x=1;for(;;){x=(Math.imul(x,1103515245)+12345)|0}' & spinner=$!
  sleep 0.5
  beside=$(ms)
  kill "$spinner"
  pair_file=$(mktemp)
  ms > "$pair_file" & other=$!
  pair=$(ms)
  wait "$other"
  echo "alone ${alone} ms/batch; beside an integer loop ${beside}; beside another bench compute ${pair}, $(cat "$pair_file")"
  rm -f "$pair_file"
done
