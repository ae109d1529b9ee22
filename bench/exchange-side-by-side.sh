#!/usr/bin/env bash
# `bench exchange` (echo workers: the coordinator's part of a step) for this checkout and an earlier one,
# interleaved in one window (the order alternates each repetition, so drift hits both sides alike).
# BEFORE is a checkout of the earlier commit built beside this one, e.g. for issue 25 (the redesign step):
#   cp -a . /tmp/before && (cd /tmp/before && git checkout -q bdb1acd && npx tsc -b --clean && npx tsc -b)
# Lines go to $OUT (JSON lines); medians and the after/before ratio are printed at the end.
# Usage: BEFORE=/tmp/before OUT=bench/results/redesign/exchange.jsonl [REPS=7] [ARGS="--workers 2 --steps 300"] \
#          bench/exchange-side-by-side.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=${BEFORE:?set BEFORE to a built checkout of the earlier commit}
OUT=${OUT:?set OUT to a .jsonl file}
REPS=${REPS:-7}
ARGS=${ARGS:---workers 2 --steps 300}
mkdir -p "$(dirname "$OUT")"
since=$(date -u +%FT%TZ)
log() {
  node -e 'const [side, rep, commit, line] = process.argv.slice(1);
    console.log(JSON.stringify({ side, rep: Number(rep), commit, date: new Date().toISOString(), ...JSON.parse(line) }))' \
    "$@" >> "$OUT"
}
for rep in $(seq 1 "$REPS"); do
  sides=(before after); [ $((rep % 2)) = 0 ] && sides=(after before)
  for side in "${sides[@]}"; do
    dir=.; [ "$side" = before ] && dir="$BEFORE"
    commit=$(git -C "$dir" rev-parse --short HEAD)
    # shellcheck disable=SC2086
    log "$side" "$rep" "$commit" "$(node "$dir/scripts/dist/src/cli.js" bench exchange $ARGS 2>/dev/null | tail -1)"
  done
  echo "rep $rep of $REPS done"
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse)
  .filter((l) => l.date >= process.argv[2]);
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const m = {};
for (const side of ["before", "after"]) {
  const mine = lines.filter((l) => l.side === side);
  m[side] = { coord: med(mine.map((l) => l.coordMsMedian)), step: med(mine.map((l) => l.stepMs)) };
  console.log(side, mine[0].commit, "runs:", mine.length, "coordinator ms/step (median of medians):", m[side].coord,
    "step ms:", m[side].step);
}
console.log("after/before: coordinator", (m.after.coord / m.before.coord).toFixed(3), "step",
  (m.after.step / m.before.step).toFixed(3));
' "$OUT" "$since"
