#!/bin/bash
# Gradient values checked in their sum (ParseContext.deferFinite) against one pass per received vector at the boundary
# (1dd3038, a copy of the tree at /tmp/base1), interleaved, idle machine: bench exchange, reference CNN fp32, N = 1, 2, 4;
# mlp-1m fp32 N = 2.
for r in 1 2 3; do
  for d in /tmp/base1 /work/main; do
    tag=$([ $d = /tmp/base1 ] && echo before || echo after)
    for n in 1 2 4; do
      echo "== repeat $r $tag reference-cnn N=$n"
      (cd $d && timeout 300 node scripts/dist/src/cli.js bench exchange --workers $n --steps 400 2>&1 | tail -1)
    done
    echo "== repeat $r $tag mlp-1m N=2"
    (cd $d && timeout 300 node scripts/dist/src/cli.js bench exchange --model mlp-1m --workers 2 --steps 200 2>&1 | tail -1)
  done
done
