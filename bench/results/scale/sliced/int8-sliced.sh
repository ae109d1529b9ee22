#!/bin/bash
# int8 both ways through the mesh with the weight delta sent slice by slice as each slice is applied, interleaved
# with fp32 streamed (both apply slices on arrival), 8 namespace hosts at 100 Mbit/s, the study paused meanwhile.
cd /work/main
D="node scripts/dist/src/cli.js bench scale --netns-hosts 8 --rate 100mbit --relays --models reference-cnn --workers-list 8 --steps 60"
for r in 1 2 3; do
  echo "== repeat $r mesh int8 (deltas in slices)"; timeout 300 $D --grad-wire int8 --weight-wire int8 2>&1 | grep '^{' | tail -1
  echo "== repeat $r mesh fp32 streamed"; timeout 300 $D 2>&1 | grep '^{' | tail -1
done
