#!/bin/bash
# Where the link dominates: int8 both ways through the mesh against fp32 streamed, (a) 4 namespace hosts at
# 100 Mbit/s (9 processes on the 2 vCPUs instead of 17), (b) 8 hosts at 25 Mbit/s (4x the link time, the same CPU).
cd /work/main
B="node scripts/dist/src/cli.js bench scale --relays --models reference-cnn --steps 40"
for r in 1 2; do
  for cfg in "--netns-hosts 4 --rate 100mbit --workers-list 4" "--netns-hosts 8 --rate 25mbit --workers-list 8"; do
    echo "== repeat $r $cfg int8 both ways"; timeout 300 $B $cfg --grad-wire int8 --weight-wire int8 2>&1 | grep '^{' | tail -1
    echo "== repeat $r $cfg fp32"; timeout 300 $B $cfg 2>&1 | grep '^{' | tail -1
  done
done
