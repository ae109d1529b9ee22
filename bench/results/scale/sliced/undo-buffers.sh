#!/bin/bash
# A/B, interleaved: undo copies in reused buffers (this tree) against fresh copies of every slice (a copy of the
# tree with update.ts and weight-view.ts of the commit before), 8 namespace hosts at 100 Mbit/s, int8 both ways
# and fp32 streamed, the study paused.
B="bench scale --relays --models reference-cnn --steps 40 --netns-hosts 8 --rate 100mbit --workers-list 8"
for r in 1 2; do
  for w in "--grad-wire int8 --weight-wire int8" ""; do
    echo "== repeat $r ${w:-fp32} reused"; (cd /work/main && timeout 300 node scripts/dist/src/cli.js $B $w 2>&1 | grep '^{' | tail -1)
    echo "== repeat $r ${w:-fp32} fresh"; (cd /tmp/ab2 && timeout 300 node scripts/dist/src/cli.js $B $w 2>&1 | grep '^{' | tail -1)
  done
done
