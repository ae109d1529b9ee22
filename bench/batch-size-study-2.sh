#!/usr/bin/env bash
# The batch-size study, strengthened (issue 28): the same model, data split, optimizers and lr scaling as
# bench/batch-size-study.sh (reference CNN, CIFAR-10 45,000/5,000/10,000, SGD vs momentum 0.9 in the ema
# form, lrs given at batch 64 and scaled by sqrt(B/64), 2 wasm-simd workers), now to THREE targets from the
# same runs: each run goes on to 65% validation accuracy (--target 0.65 --stop-at-target), evaluates once
# per epoch and, within 5 points below a target it has not reached, every 2% of its steps so far
# (--eval-near-targets), so the report interpolates each crossing at 2% resolution. --patience 5 ends runs
# that stop learning. Stages, cheapest information first, all into one directory (sweep2/):
#   1. the new batch sizes between the old ones: 32, 128, 512 x {SGD, momentum} x base lr 0.03, 0.1, 0.3;
#   2. the old batch sizes again, to 65% this time: 16, 64, 256, 1024 x two lrs per cell (below);
#   3. seeds 2 and 3 at the best point of batch 32, 128 and 512 for each optimizer (bench/best-points.mjs);
#   4. the optimizers said to extend perfect scaling (Zhang et al. 2019; You et al. 2017, 2020) where
#      momentum stopped scaling: Adam (base lr 0.001, 0.003) and LAMB (0.001-0.03) at 1024;
#   5. ResNet-8 (batch norm over groups of 16), momentum at 64, 256, 1024, base lr 0.1-3, to 70% (sweep2-resnet8/).
# Stages 3 and 4 were cut to this (seeds and lr neighbours everywhere, Adam/LAMB at 256 and 4096 too) to fit
# the issue's budget of about 6 hours; plan.json keeps the cells, and the report marks the ones no run covered.
# Resumable: run it again and it skips finished runs and continues an interrupted one from its newest
# checkpoint; run it in pieces, `timeout 100m bench/batch-size-study-2.sh` (STAGES="3 4" picks stages).
# The report: `dtrain report --sweep bench/results/batch-size-cifar10/sweep2 --targets 0.55,0.6,0.65`; sweep2/plan.json
# lists the planned cells, and the report marks those no run covered ("planned, not run (budget)").
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/batch-size-cifar10
DTRAIN="node scripts/dist/src/cli.js"
mkdir -p "$OUT/sweep2"
{ echo "study 2 piece: $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)";
  echo "node: $(node --version); dtrain: $($DTRAIN --version); stages: ${STAGES:-1 2 3 4 5}"; echo "started: $(date -u +%FT%TZ)"; } >> "$OUT/machine.txt"
COMMON=(--dataset cifar10 --val-fraction 0.1 --momenta 0.9 --momentum-form ema --lr-scalings sqrt --base-batch-size 64
  --target 0.65 --stop-at-target --eval-near-targets 0.55,0.6,0.65 --evals-per-epoch 1 --patience 5
  --local 2 --backend wasm-simd --checkpoint-seconds 300 --keep-checkpoints 1 --out "$OUT/sweep2")
GRID=(--optimizers sgd,momentum --lrs 0.03,0.1,0.3 --seeds 1)
child=
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
# Runs a command in the background so a TERM (from `timeout`) reaches it; stops the script when it fails.
bg() { "$@" & child=$!; wait "$child" || { status=$?; wait "$child" 2>/dev/null || true; return "$status"; }; child=; }
stage() { [[ " ${STAGES:-1 2 3 4 5} " == *" $1 "* ]]; }
finished() { grep -qsE '"status": *"(completed|diverged|stalled)"' "$1/summary.json"; }
sweep() { bg $DTRAIN sweep "${COMMON[@]}" "$@"; }

status=0
for b in 32 128 512; do
  [ $status = 0 ] && stage 1 && { sweep --batch-sizes $b "${GRID[@]}" --epochs $((b >= 512 ? 40 : 30)) || status=$?; }
done
# Stage 2 at two lrs per cell, to fit the budget: the best base lr of the committed 60% study and its runner-up
# (the third lr is covered there: at 16 both optimizers' 0.3 were slowest or never reached 60%, at 1024
# momentum 0.03 never reached it and 0.3 diverged); the report's lrsTried column says which ran.
while read -r b opt lrs; do
  [ $status = 0 ] && stage 2 && { sweep --batch-sizes "$b" --optimizers "$opt" --lrs "$lrs" --seeds 1 \
    --epochs $((b >= 512 ? 40 : 30)) || status=$?; }
done <<'GRID2'
16 sgd 0.03,0.1
16 momentum 0.03,0.1
64 sgd 0.03,0.1
64 momentum 0.1,0.3
256 sgd 0.03,0.1
256 momentum 0.1,0.3
1024 sgd 0.03,0.1
1024 momentum 0.1
GRID2
if [ $status = 0 ] && stage 3; then
  while read -r b opt lr epochs; do
    sweep --batch-sizes "$b" --optimizers "$opt" --lrs "$lr" --seeds 2,3 --epochs "$epochs" || { status=$?; break; }
  done < <(node bench/best-points.mjs "$OUT/sweep2" 0.65 32,128,512 --best-only)
fi
for b in 1024; do
  [ $status = 0 ] && stage 4 && { sweep --batch-sizes $b --optimizers adam --lrs 0.001,0.003 --seeds 1 --epochs 40 || status=$?; }
  # LAMB at base 0.01 and 0.03 (peak 0.04, 0.12) collapsed to chance in the first epoch (loss 2.303 from step 86):
  # its layer-wise rate is relative to each tensor's norm, so 0.001 and 0.003 were added (2026-12-05)
  [ $status = 0 ] && stage 4 && { sweep --batch-sizes $b --optimizers lamb --lrs 0.001,0.003,0.01,0.03 --seeds 1 --epochs 40 || status=$?; }
done
# Stage 5 goes on to 70% validation accuracy, Shallue et al.'s goal for this workload (30% error), so its curve
# can be read against theirs; the targets below it come from the same runs. ResNet-8 reaches 65% within about
# 2 epochs at batch 64 (1,492 steps), so four lrs per batch size fit the budget the single lr was cut to (3 was
# added when 1 came out best at 64 and 256).
RESNET=("${COMMON[@]/%sweep2/sweep2-resnet8}")
RESNET=("${RESNET[@]/#0.65/0.7}")
RESNET=("${RESNET[@]/%0.55,0.6,0.65/0.55,0.6,0.65,0.7}")
[ $status = 0 ] && stage 5 && { bg $DTRAIN sweep "${RESNET[@]}" --model resnet8 --group-size 16 --batch-sizes 64,256,1024 --optimizers momentum --lrs 0.1,0.3,1,3 --seeds 1 --epochs 30 || status=$?; }

# Archive finished runs (bench/archive-run.mjs: checkpoints removed, step records cut to what reports read,
# gzipped); an unfinished run keeps its newest checkpoint to continue from.
for summary in "$OUT"/sweep2/*/summary.json "$OUT"/sweep2-resnet8/*/summary.json; do
  [ -f "$summary" ] || continue
  dir=$(dirname "$summary")
  finished "$dir" && [ -d "$dir/checkpoints" ] && node bench/archive-run.mjs "$dir"
done
exit "$status"
