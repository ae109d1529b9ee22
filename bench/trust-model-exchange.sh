#!/usr/bin/env bash
# Issues 24/31: the cost of the trust-model changes on the sealed path (a ping with the sender's count after
# every sealed frame, the transcript-bound handshake), measured side by side with the commit before them
# (145bd1f), interleaved in one window: `bench exchange --workers 2 --token` (echo workers: the coordinator's
# part of a step, every frame sealed). BEFORE is a checkout of 145bd1f built beside this one:
#   git clone -q . /tmp/before && (cd /tmp/before && git checkout -q 145bd1f && npx -y pnpm@9.15.9 install && npm run build)
# Lines go to bench/results/trust-model/exchange-token.jsonl; medians are printed at the end.
# Usage: BEFORE=/tmp/before [REPS=5] bench/trust-model-exchange.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=${BEFORE:-/tmp/before}
REPS=${REPS:-5}
OUT=bench/results/trust-model
mkdir -p "$OUT"
since=$(date -u +%FT%TZ)
log() { node -e 'const [side, rep, line] = process.argv.slice(1); console.log(JSON.stringify({ side, rep: Number(rep), date: new Date().toISOString(), ...JSON.parse(line) }))' "$@" >> "$OUT/exchange-token.jsonl"; }
for rep in $(seq 1 "$REPS"); do
  sides=(before after); [ $((rep % 2)) = 0 ] && sides=(after before)
  for side in "${sides[@]}"; do
    cli=scripts/dist/src/cli.js; [ "$side" = before ] && cli="$BEFORE/scripts/dist/src/cli.js"
    log "$side" "$rep" "$(node "$cli" bench exchange --workers 2 --steps 300 --token s3cret 2>/dev/null | tail -1)"
  done
  echo "rep $rep done"
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse).filter((l) => l.date >= process.argv[2]);
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
for (const side of ["before", "after"]) {
  const mine = lines.filter((l) => l.side === side);
  console.log(side, "coordinator ms/step median of", mine.length, ":", med(mine.map((l) => l.coordMsMedian)), "step ms:", med(mine.map((l) => l.stepMs)));
}
' "$OUT/exchange-token.jsonl" "$since"
