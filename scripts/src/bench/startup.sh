#!/usr/bin/env bash
# Seconds from `dtrain launch --workers 2` starting to its first step starting, with the generated-image
# cache unusable, empty, and filled (bench/RESULTS.md, "Start-up"). Usage: scripts/src/bench/startup.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=$(mktemp -d)
first_step() {
  local t0
  t0=$(date +%s%3N)
  "$@" node scripts/dist/src/cli.js launch --workers 2 --out "$out/run" --overwrite --max-steps 5 >/dev/null 2>&1
  node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8").split("\n")[0]); console.log(((r.time-Number(process.argv[2])-r.stepMs)/1000).toFixed(2))' "$out/run/metrics.jsonl" "$t0"
}
filled=$(mktemp -d)
first_step env DTRAIN_CACHE="$filled" >/dev/null  # fills it
for _ in $(seq "${1:-3}"); do
  echo "none $(first_step env DTRAIN_CACHE=/proc/dtrain-nocache) s; empty $(first_step env DTRAIN_CACHE="$(mktemp -d)") s; filled $(first_step env DTRAIN_CACHE="$filled") s"
done
