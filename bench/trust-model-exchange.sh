#!/usr/bin/env bash
# Issues 24/31: the cost of the trust-model changes on the sealed path (a ping with the sender's count after
# every sealed frame, the transcript-bound handshake), measured side by side with the commit before them
# (145bd1f), interleaved in one window: `bench exchange --workers 2 --token` (echo workers: the coordinator's
# part of a step, every frame sealed). BEFORE is a checkout of 145bd1f built beside this one:
#   git clone -q . /tmp/before && (cd /tmp/before && git checkout -q 145bd1f && npx -y pnpm@9.15.9 install && npm run build)
# Lines go to bench/results/trust-model/exchange-token.jsonl; medians are printed at the end.
# Usage: BEFORE=/tmp/before [REPS=5] bench/trust-model-exchange.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# the side-by-side loop and the medians are bench/exchange-side-by-side.sh's; this names the sides and the arguments
BEFORE=${BEFORE:-/tmp/before} OUT=bench/results/trust-model/exchange-token.jsonl REPS=${REPS:-5} \
  ARGS="--workers 2 --steps 300 --token s3cret" exec bench/exchange-side-by-side.sh
