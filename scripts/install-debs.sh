#!/usr/bin/env bash
# Install Debian packages without starting their daemons. Idempotent: only missing
# packages are installed, and `apt-get update` runs only when something is missing.
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo ">> debs: all ${#} packages present"
  exit 0
fi
echo ">> debs: installing ${missing[*]}"
policy=/usr/sbin/policy-rc.d
created=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created=1
fi
trap '[ $created -eq 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Packaged daemons may still have been started by their maintainer scripts; stop them.
for proc in redis-server prometheus prometheus-alertmanager; do
  pkill -x "$proc" 2>/dev/null || true
done
echo ">> debs: done"
