#!/bin/bash
# int8 both ways through the mesh with the weight delta sent slice by slice as each slice is applied, interleaved
# with fp32 streamed (both apply slices on arrival), 8 namespace hosts at 100 Mbit/s, the study paused meanwhile.
cd /work/main
# (as ../sliced/int8-sliced.sh, again after f6c1db1: the SIMD quantizer 5x faster; run under a script that SIGSTOPs every other node process)
D="node scripts/dist/src/cli.js bench scale --netns-hosts 8 --rate 100mbit --relays --models reference-cnn --workers-list 8 --steps 60"
for r in 1 2 3; do
  echo "== repeat $r mesh int8 (deltas in slices)"; timeout 300 $D --grad-wire int8 --weight-wire int8 2>&1 | grep '^{' | tail -1
  echo "== repeat $r mesh fp32 streamed"; timeout 300 $D 2>&1 | grep '^{' | tail -1
done
