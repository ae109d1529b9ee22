#!/bin/bash
# This session's coordinator (int8 expanded into lent room, the faster SIMD quantizer, compressors' own arrays, sealed
# pieces) against the build at the session's start (c680124, in a copy of the tree at /tmp/base0), interleaved, idle machine:
#   bench exchange --model mlp-1m --workers 1 --grad-wire int8 --weight-wire int8 --steps 300
#   bench exchange --workers N --steps 400 (reference CNN, fp32, N = 1 and 2: the loopback path no slower)
for r in 1 2 3; do
  for d in /tmp/base0 /work/main; do
    tag=$([ $d = /tmp/base0 ] && echo before || echo after)
    echo "== repeat $r $tag mlp-1m int8 N=1"
    (cd $d && timeout 300 node scripts/dist/src/cli.js bench exchange --model mlp-1m --workers 1 --grad-wire int8 --weight-wire int8 --steps 300 2>&1 | tail -1)
    for n in 1 2; do
      echo "== repeat $r $tag reference-cnn fp32 N=$n"
      (cd $d && timeout 300 node scripts/dist/src/cli.js bench exchange --workers $n --steps 400 2>&1 | tail -1)
    done
  done
done
