#!/usr/bin/env bash
# Issue 29: int8 both ways (--grad-wire int8 --weight-wire int8) against fp32 both ways, side by side in one
# window, on network-namespace hosts (root) with tc tbf links: the reference CNN at 100 Mbit/s (link-bound)
# and mlp-1m at 1 Gbit/s (CPU-bound on a 2-vCPU machine). Echo workers apply the weight deltas and compress
# their gradients as workers do. Lines go to bench/results/scale/netns-*-{fp32,int8}-both.jsonl (appended).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/results/scale
DTRAIN="node scripts/dist/src/cli.js"
for round in 1 2; do
  for wire in fp32 int8; do
    $DTRAIN bench scale --models reference-cnn --workers-list 1,2,4 --steps 16 --netns-hosts 4 --rate 100mbit \
      --grad-wire $wire --weight-wire $wire >> "$OUT/netns-100mbit-reference-cnn-$wire-both.jsonl"
  done
done
for wire in fp32 int8; do
  $DTRAIN bench scale --models mlp-1m --workers-list 1,2,4 --steps 12 --netns-hosts 4 --rate 1gbit \
    --grad-wire $wire --weight-wire $wire >> "$OUT/netns-1gbit-mlp-1m-$wire-both.jsonl"
done
