#!/usr/bin/env bash
# The frame-level fuzzer's soak mode: the CI fuzz suite (scripts/test/integration/wire-fuzz.test.ts) with
# many more frames per target and several seeds. Each seed's run must end as CI's does (every target
# survives, every admission and handshake state reached, final weights bitwise equal to undisturbed runs).
# Usage: FRAMES=200000 SEEDS="1 2 3" bench/wire-fuzz-soak.sh   (after npm run build)
# Lines go to bench/results/wire-fuzz/soak-<date>.log; the summary lines to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMES=${FRAMES:-100000}
SEEDS=${SEEDS:-"1 2 3"}
mkdir -p bench/results/wire-fuzz
log="bench/results/wire-fuzz/soak-$(date -u +%Y%m%dT%H%M%SZ).log"
echo "# $(date -u +%FT%TZ) $(nproc) cores, node $(node --version); FRAMES=$FRAMES SEEDS=$SEEDS" | tee "$log"
fail=0
for seed in $SEEDS; do
  t0=$(date +%s)
  if DTRAIN_FUZZ_FRAMES=$FRAMES DTRAIN_FUZZ_SEED=$seed node --test --test-timeout=3600000 scripts/dist/test/integration/wire-fuzz.test.js >"$log.part" 2>&1; then r=pass; else r=FAIL; fail=1; fi
  cat "$log.part" >>"$log"
  grep -E '^# \\# wire fuzz|^(not )?ok' "$log.part" | sed "s/^/seed $seed: /" | tee -a "$log.summary"
  echo "seed $seed: $r in $(( $(date +%s) - t0 )) s" | tee -a "$log.summary"
done
rm -f "$log.part"
exit $fail
