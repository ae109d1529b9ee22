#!/usr/bin/env bash
# The batch-size study on real CIFAR-10 (issue 16): the reference CNN, plain SGD vs momentum 0.9 (ema form,
# so both share one lr scale), target 60% validation accuracy, each run stopped at the target, 4
# evaluations per epoch, one seed, 2 wasm workers (--backend wasm-simd: the kernel build every run used).
# Learning rates are given at batch 64 and scaled by sqrt(B/64). In stages, all into one directory:
#   1. the grid: batch 16, 64, 256, 1024 x lrs 0.03, 0.1, 0.3 x {SGD, momentum}, at most 12 epochs;
#   2. momentum's best lr sat at the top of that grid at 64 and 256: lr 1.0 for momentum there (at 1024
#      momentum's 0.3 already collapsed);
#   3. for an optimizer with no batch-1024 run at the target in 12 epochs (SGD), its runs there that did not
#      collapse continue to 30 epochs (--resume with --epochs, from the final checkpoint; bench/runs-to-extend.mjs);
#   4. batch 4096 (12 epochs are 132 steps there): lrs 0.03, 0.1, 0.01 (base; the best at 1024 were 0.03
#      for SGD and 0.1 for momentum, and 0.3 collapsed there) x {SGD, momentum}, at most 48 epochs, 1
#      evaluation per epoch, --patience 8: a run with no new best validation loss or accuracy in 8 epochs
#      ends (stalled; the runs that collapsed to chance at 64-1024 never improved after their first epochs,
#      and bench/patience-replay.mjs shows that no earlier run that learned would have been stopped).
#   5. SGD's best at batch 1024 was the lowest lr of its grid (base 0.03): base 0.01 there too, at most 30
#      epochs (the cap stage 3 gave the other SGD runs at 1024), so the best is not at an edge.
#   6. at 4096, an optimizer with no run at 60% within 48 epochs (SGD at 1024 took 25 epochs, 1,090 steps,
#      which 4096 needs about 109 epochs to match): its best run that still holds a checkpoint continues to
#      120 epochs, as in stage 3 (the best only: each costs about 25 minutes here).
# Resumable: run it again and it skips finished runs and continues an interrupted one from its newest
# checkpoint. Run it in pieces: `timeout 110m bench/batch-size-study.sh` (STAGES="3 4" picks stages).
# Results and the report: bench/results/batch-size-cifar10/ (sweep/ holds each run's records).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/batch-size-cifar10
DTRAIN="node scripts/dist/src/cli.js"
mkdir -p "$OUT"
{ echo "machine: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)";
  echo "node: $(node --version); dtrain: $($DTRAIN --version); stages: ${STAGES:-1 2 3 4 5 6}"; echo "started: $(date -u +%FT%TZ)"; } >> "$OUT/machine.txt"
COMMON=(--dataset cifar10 --val-fraction 0.1 --momenta 0.9 --momentum-form ema --lr-scalings sqrt --base-batch-size 64
  --seeds 1 --target 0.6 --stop-at-target --local 2 --backend wasm-simd --checkpoint-seconds 300 --keep-checkpoints 1 --out "$OUT/sweep")
child=
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
# Runs a command in the background so a TERM (from `timeout`) reaches it; stops the script when it fails.
bg() { "$@" & child=$!; wait "$child" || { status=$?; wait "$child" 2>/dev/null || true; return "$status"; }; child=; }
stage() { [[ " ${STAGES:-1 2 3 4 5 6} " == *" $1 "* ]]; }
finished() { grep -qsE '"status": *"(completed|diverged|stalled)"' "$1/summary.json"; }

status=0
stage 1 && { bg $DTRAIN sweep "${COMMON[@]}" --batch-sizes 16,64,256,1024 --optimizers sgd,momentum --lrs 0.03,0.1,0.3 --evals-per-epoch 4 --epochs 12 || status=$?; }
[ $status = 0 ] && stage 2 && { bg $DTRAIN sweep "${COMMON[@]}" --batch-sizes 64,256 --optimizers momentum --lrs 1 --evals-per-epoch 4 --epochs 12 || status=$?; }
# Continues the runs bench/runs-to-extend.mjs picks at batch $1 to $2 epochs ($3: best, the best only).
extend() {
  for run in $(node bench/runs-to-extend.mjs "$OUT/sweep" "$1" "$2" ${3:-}); do
    bg $DTRAIN launch --resume "$run" --epochs "$2" --workers 2 --backend wasm-simd || return $?
  done
}
[ $status = 0 ] && stage 3 && { extend 1024 30 || status=$?; }
[ $status = 0 ] && stage 4 && { bg $DTRAIN sweep "${COMMON[@]}" --batch-sizes 4096 --optimizers sgd,momentum --lrs 0.03,0.1,0.01 --evals-per-epoch 1 --epochs 48 --patience 8 || status=$?; }
[ $status = 0 ] && stage 5 && { bg $DTRAIN sweep "${COMMON[@]}" --batch-sizes 1024 --optimizers sgd --lrs 0.01 --evals-per-epoch 4 --epochs 30 --patience 8 || status=$?; }
[ $status = 0 ] && stage 6 && { extend 4096 120 best || status=$?; }

# Archive finished runs for the repository (bench/archive-run.mjs: checkpoints removed, step records cut to
# what reports read, gzipped); an unfinished run keeps its newest checkpoint and metrics to continue from.
# The runs stage 3 or 6 is to extend keep theirs until it has.
to_extend=" $(node bench/runs-to-extend.mjs "$OUT/sweep" 1024 30 2>/dev/null | xargs) $(node bench/runs-to-extend.mjs "$OUT/sweep" 4096 120 best 2>/dev/null | xargs) "
for summary in "$OUT"/sweep/*/summary.json; do
  dir=$(dirname "$summary")
  [[ "$to_extend" == *" $dir "* ]] && continue
  finished "$dir" && node bench/archive-run.mjs "$dir"
done
$DTRAIN report --sweep "$OUT/sweep" --target 0.6 >/dev/null || true
exit "$status"
