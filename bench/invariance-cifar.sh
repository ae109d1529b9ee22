#!/usr/bin/env bash
# The worker-count-invariance contract on the reference CNN and real CIFAR-10 (issue 27's measurement):
# the same seed and batch on 1, 2 and 3 local workers, with groups (--group-size auto) and without (0);
# prints each final checkpoint's sha256 and the relative L2 distance of its weights to the 1-worker run's.
# Usage: [STEPS=100] [BATCH=64] OUT=bench/results/invariance/cifar.txt bench/invariance-cifar.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to a .txt file}
STEPS=${STEPS:-100}
BATCH=${BATCH:-64}
mkdir -p "$(dirname "$OUT")"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
{
  echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD): reference-cnn, cifar10, batch $BATCH, $STEPS steps, momentum 0.9"
  for g in auto 0; do
    for w in 1 2 3; do
      node scripts/dist/src/cli.js launch --workers "$w" --model reference-cnn --dataset cifar10 --batch-size "$BATCH" \
        --max-steps "$STEPS" --group-size "$g" --val-fraction 0 --limit-test 1000 --out "$dir/g$g-w$w" --overwrite \
        > /dev/null 2>&1
    done
    node -e '
      const fs = require("fs"), crypto = require("crypto"), path = require("path");
      const [dir, g, steps] = process.argv.slice(1);
      const last = (w) => { const c = path.join(dir, `g${g}-w${w}`, "checkpoints"); return path.join(c, fs.readdirSync(c).sort().at(-1)); };
      const read = (w) => fs.readFileSync(path.join(last(w), "weights.f32"));
      const f32 = (b) => new Float32Array(b.buffer, b.byteOffset, b.length / 4);
      const ref = f32(read(1));
      for (const w of [1, 2, 3]) {
        const b = read(w), x = f32(b);
        let num = 0, den = 0;
        for (let i = 0; i < x.length; i++) { num += (x[i] - ref[i]) ** 2; den += ref[i] ** 2; }
        const loss = fs.readFileSync(path.join(dir, `g${g}-w${w}`, "metrics.jsonl"), "utf8").trim().split("\n")
          .map(JSON.parse).filter((r) => r.type === "step").at(-1).loss;
        console.log(`--group-size ${g.padEnd(4)} workers ${w}: step ${steps} sha256 ${crypto.createHash("sha256").update(b).digest("hex").slice(0, 16)}`,
          `rel L2 to 1 worker ${(Math.sqrt(num) / Math.sqrt(den)).toExponential(2)}, last step loss ${loss}`);
      }
    ' "$dir" "$g" "$STEPS"
  done
} | tee -a "$OUT"
