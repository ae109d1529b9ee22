#!/usr/bin/env bash
# What the worker-count-invariant reduction costs: real training (reference CNN, CIFAR-10, 2 local
# workers) with --group-size 0 (off: one pass per shard, shards summed in shard order) and each group
# size in SIZES, interleaved in one window (the order rotates each repetition, so drift hits all alike).
# Per run: the median step time over steps 3..STEPS and the median of one test evaluation's time.
# Lines go to $OUT (JSON lines); medians per group size and the ratio against 0 are printed at the end.
# Usage: OUT=bench/results/invariance/cost.jsonl [REPS=5] [STEPS=40] [BATCH=64] [WORKERS=2] [SIZES="8 16 32"] \
#          bench/invariance-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:?set OUT to a .jsonl file}
REPS=${REPS:-5}
STEPS=${STEPS:-40}
BATCH=${BATCH:-64}
WORKERS=${WORKERS:-2}
SIZES=${SIZES:-8 16 32}
mkdir -p "$(dirname "$OUT")"
since=$(date -u +%FT%TZ)
run_dir=$(mktemp -d)
trap 'rm -rf "$run_dir"' EXIT
read -r -a sizes <<< "0 $SIZES"
for rep in $(seq 1 "$REPS"); do
  n=${#sizes[@]}
  for i in $(seq 0 $((n - 1))); do
    g=${sizes[$(((i + rep) % n))]}
    node scripts/dist/src/cli.js launch --workers "$WORKERS" --model reference-cnn --dataset cifar10 \
      --batch-size "$BATCH" --max-steps "$STEPS" --group-size "$g" --val-fraction 0 --limit-test 2000 \
      --eval-chunk 500 --out "$run_dir/g$g" --overwrite > /dev/null 2>&1
    node -e '
      const [file, g, rep, batch, workers] = process.argv.slice(1);
      const recs = require("fs").readFileSync(file, "utf8").trim().split("\n").map(JSON.parse);
      const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
      const steps = recs.filter((r) => r.type === "step" && r.step >= 3);
      const evals = recs.filter((r) => r.type === "eval");
      console.log(JSON.stringify({ groupSize: Number(g), rep: Number(rep), batch: Number(batch), workers: Number(workers),
        date: new Date().toISOString(), commit: process.env.COMMIT, steps: steps.length,
        stepMs: med(steps.map((r) => r.stepMs)), computeMs: med(steps.map((r) => Math.max(...Object.values(r.computeMs)))),
        evalMs: evals.length ? med(evals.map((r) => r.ms)) : null }));
    ' "$run_dir/g$g/metrics.jsonl" "$g" "$rep" "$BATCH" "$WORKERS" >> "$OUT"
  done
  echo "rep $rep of $REPS done"
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse)
  .filter((l) => l.date >= process.argv[2]);
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const by = {};
for (const l of lines) (by[l.groupSize] ??= []).push(l);
const base = by[0];
const m = (ls, k) => med(ls.map((l) => l[k]));
for (const [g, ls] of Object.entries(by)) {
  console.log(`group ${g.padStart(3)}: runs ${ls.length}, step ${m(ls, "stepMs").toFixed(2)} ms (x${(m(ls, "stepMs") / m(base, "stepMs")).toFixed(3)}),`,
    `compute ${m(ls, "computeMs").toFixed(2)} ms (x${(m(ls, "computeMs") / m(base, "computeMs")).toFixed(3)}),`,
    `test evaluation ${m(ls, "evalMs").toFixed(0)} ms (x${(m(ls, "evalMs") / m(base, "evalMs")).toFixed(3)})`);
}
' "$OUT" "$since"
