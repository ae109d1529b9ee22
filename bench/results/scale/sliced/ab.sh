#!/bin/bash
# A/B, interleaved: int8 both ways through the mesh with the weight delta in slices as they are applied (this
# tree) against the whole delta once every slice is in (a copy whose WeightView.sliceable answers false).
B="bench scale --relays --models reference-cnn --steps 40 --grad-wire int8 --weight-wire int8"
for r in 1 2 3; do
  for cfg in "--netns-hosts 8 --rate 100mbit --workers-list 8" "--netns-hosts 4 --rate 100mbit --workers-list 4"; do
    echo "== repeat $r $cfg sliced"; (cd /work/main && timeout 300 node scripts/dist/src/cli.js $B $cfg 2>&1 | grep '^{' | tail -1)
    echo "== repeat $r $cfg whole"; (cd /tmp/ab && timeout 300 node scripts/dist/src/cli.js $B $cfg 2>&1 | grep '^{' | tail -1)
  done
done
