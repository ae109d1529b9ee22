#!/usr/bin/env bash
# The article's comparison on real CIFAR-10: plain SGD vs Keras-style momentum 0.9, lr 0.01, batch 64,
# 10 epochs, 20% validation split; 2 local workers. Copies the table, CSV/JSON and reports into
# bench/results/momentum-cifar10/. About 25 minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-runs/momentum-cifar10}
node scripts/dist/src/cli.js experiment momentum --dataset cifar10 --epochs "${EPOCHS:-10}" --local 2 --out "$OUT" "$@" | tee "$OUT.table.txt"
DEST=bench/results/momentum-cifar10
mkdir -p "$DEST"
cp "$OUT.table.txt" "$DEST/table.txt"
cp "$OUT/results.csv" "$OUT/results.json" "$OUT/report.html" "$DEST/"
for r in "$OUT"/*/; do cp "$r/report.html" "$DEST/$(basename "$r")-report.html"; cp "$r/summary.json" "$DEST/$(basename "$r")-summary.json"; done
{ echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), node $(node --version)"; date -u; } > "$DEST/machine.txt"
