#!/usr/bin/env bash
# Debian base image for every test bed image: debootstrap (minbase) + `docker import`.
#   base.sh [--force]
# The image carries a label with a hash of this script and the suite; when an image with
# the same label exists the build is skipped, so docker's image store is the cache.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ref=localhost/testbed/debian-base:$suite
# Bump when the rootfs recipe below changes (not for comment or locking edits): the label
# decides whether the image, and every image built FROM it, is rebuilt.
recipe_version=1
recipe=$(echo "$recipe_version $suite $mirror" | sha256sum | cut -c1-16)

"$here/../docker.sh" up >/dev/null
mkdir -p /run/lock
exec 9>/run/lock/agent-testbed-base-image.lock   # one build at a time; the others then find it cached
flock -w 1800 9
have=$(docker image inspect -f '{{ index .Config.Labels "agent-testbed.recipe" }}' "$ref" 2>/dev/null || true)
if [ "${1:-}" != --force ] && [ "$have" = "$recipe" ]; then
  echo ">> images: $ref (cached)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "images: debootstrap not found; run 'make debs'" >&2; exit 1; }
echo ">> images: debootstrap $suite -> $ref"
start=$(date +%s)
root=$(mktemp -d /var/tmp/testbed-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" \
  > "$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
cat > "$root/etc/apt/sources.list" <<SRC
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
SRC
# Smaller image, and apt inside `docker build` must not keep the package cache.
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  > "$root/etc/apt/apt.conf.d/90testbed"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
  "$root"/var/log/* "$root"/tmp/* "$root"/dev/*
tar --numeric-owner -C "$root" -c . | docker import \
  --change "LABEL agent-testbed.recipe=$recipe" \
  --change 'ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' - "$ref" >/dev/null
echo ">> images: $ref built in $(( $(date +%s) - start ))s"
