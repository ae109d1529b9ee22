#!/usr/bin/env bash
# Issue 17: the 2-worker path before and after the scale work (relays, compressed gradients, bench scale),
# interleaved in one window. BEFORE is a checkout built beside this one (default: the commit before
# `bench scale`, 75a9355~1), e.g.:
#   git clone -q . /tmp/before && (cd /tmp/before && git checkout -q 75a9355~1 && npx -y pnpm@9.15.9 install && npm run build)
# Runs, alternating which goes first: `bench exchange --workers 2` (echo workers: the coordinator's part of
# a step) and `bench scaling --repeats 1` (real wasm workers, 1 then 2; the after side with --backend
# wasm-simd, the kernels the before side has, and with wasm, the FMA build). Lines go to
# bench/results/two-worker/before-after.jsonl; the medians are printed at the end.
# Usage: BEFORE=/tmp/before [REPS=5] bench/two-worker-before-after.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=${BEFORE:-/tmp/before}
REPS=${REPS:-5}
OUT=bench/results/two-worker
mkdir -p "$OUT"
log() { node -e 'const [side, rep, line] = process.argv.slice(1); console.log(JSON.stringify({ side, rep: Number(rep), date: new Date().toISOString(), ...JSON.parse(line) }))' "$@" >> "$OUT/before-after.jsonl"; }
for rep in $(seq 1 "$REPS"); do
  sides=(before after); [ $((rep % 2)) = 0 ] && sides=(after before)
  for side in "${sides[@]}"; do
    cli=scripts/dist/src/cli.js; [ "$side" = before ] && cli="$BEFORE/scripts/dist/src/cli.js"
    log "$side" "$rep" "$(node "$cli" bench exchange --workers 2 --steps 300 2>/dev/null | tail -1)"
    if [ "$side" = before ]; then
      log before "$rep" "$(node "$cli" bench scaling --backend wasm --steps 60 --repeats 1 --no-compute-only 2>/dev/null | tail -1)"
    else
      log after-simd "$rep" "$(node "$cli" bench scaling --backend wasm-simd --steps 60 --repeats 1 --no-compute-only 2>/dev/null | tail -1)"
      log after-fma "$rep" "$(node "$cli" bench scaling --backend wasm --steps 60 --repeats 1 --no-compute-only 2>/dev/null | tail -1)"
    fi
  done
  echo "rep $rep done"
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse).filter((l) => l.date >= process.argv[2]);
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const pick = (side, bench, key) => med(lines.filter((l) => l.side === side && l.bench === bench).map((l) => l[key]));
for (const side of ["before", "after"]) console.log(side, "exchange: coordinator ms median", pick(side, "exchange", "coordMsMedian"), "step ms", pick(side, "exchange", "stepMs"));
for (const side of ["before", "after-simd", "after-fma"]) console.log(side, "scaling: ratio", pick(side, "scaling", "ratio"), "1 worker img/s", pick(side, "scaling", "oneImagesPerSecond"), "2 workers img/s", pick(side, "scaling", "twoImagesPerSecond"));
' "$OUT/before-after.jsonl" "$(date -u -d "-$((SECONDS + 5)) seconds" +%FT%TZ)"
