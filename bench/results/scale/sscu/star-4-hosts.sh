#!/bin/bash
# the star (no relays), 4 namespace hosts at 100 Mbit/s, reference CNN, N = 1/2/4: fp32 vs int8 both ways, after the harness's ARP fix
cd /work/sscu
D="node scripts/dist/src/cli.js bench scale --netns-hosts 4 --rate 100mbit --models reference-cnn --workers-list 1,2,4 --steps 40"
for r in 1 2; do
  echo "== repeat $r star fp32"; timeout 400 $D 2>&1 | grep '^{'
  echo "== repeat $r star int8"; timeout 400 $D --grad-wire int8 --weight-wire int8 2>&1 | grep '^{'
done
