#!/usr/bin/env bash
# Issue 18: dtrain next to the PyTorch peer on this machine, interleaved in one window (`dtrain bench peer`:
# the order alternates every repetition). Per core: `bench compute` (batch 64, one process) vs the peer's
# forward+backward on one thread; scaling: 2 workers over 1 at 64 per worker (`bench scaling`) vs DDP gloo
# 2 x 1 thread over 1 x 1 thread. Prints and appends to bench/results/peer/peer.jsonl: the ratios, the
# medians, the machine, Node and its V8 flags. Needs Debian's python3-torch (apt-get install python3-torch).
# Usage: [BACKEND=wasm|wasm-simd] [REPEATS=5] [STEPS=100] bench/peer-side-by-side.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/peer
mkdir -p "$OUT"
result=$(node scripts/dist/src/cli.js bench peer --peer-dir "${PEER_DIR:-../shared/peers}" --backend "${BACKEND:-wasm}" --repeats "${REPEATS:-5}" --steps "${STEPS:-100}")
line=$(printf '%s\n' "$result" | tail -1)
printf '%s\n' "$line"
node -e 'const r = JSON.parse(process.argv[1]); r.date = new Date().toISOString(); console.log(JSON.stringify(r))' "$line" >> "$OUT/peer.jsonl"
