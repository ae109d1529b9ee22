#!/usr/bin/env bash
# The report test renders HTML in headless Chromium (Debian's package). Install it when missing and we can.
set -euo pipefail
if [ -n "${CHROMIUM_PATH:-}" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium for the report rendering test" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "ensure-chromium: no chromium found; install it (e.g. apt-get install chromium) or set CHROMIUM_PATH" >&2
fi
