#!/bin/bash
# the 1 Gbit/s composition: one host server with 8 echo workers behind it (its CPU for 8 local workers and one
# vector each way on its link), and 8 hosts x 1 echo worker through the mesh at 1 Gbit/s (CPU-bound on 2 vCPUs)
cd /work/sscu
for r in 1 2; do
  echo "== repeat $r one host server, 8 local workers, 1gbit"
  timeout 300 node scripts/dist/src/cli.js bench scale --netns-hosts 1 --rate 1gbit --relays --models reference-cnn --workers-list 8 --steps 100 2>&1 | grep '^{' | tail -1
  echo "== repeat $r 8 hosts mesh fp32, 1gbit"
  timeout 300 node scripts/dist/src/cli.js bench scale --netns-hosts 8 --rate 1gbit --relays --models reference-cnn --workers-list 8 --steps 100 2>&1 | grep '^{' | tail -1
done
