#!/usr/bin/env bash
# The newcomer's cold path, timed: README's two commands (`make up`, then `make test`) in a fresh
# clone of HEAD, with every cache this machine holds moved aside first: the Go build and module
# caches, ~/.cache (CACHE_DIR, pip), ~/.ansible, helm's plugins, docker's image store and the
# test bed's containerd store. The originals are moved back afterwards, whatever the outcome
# (what the run built is dropped). Debian packages stay installed: apt-get is not undone.
# Writes bench/results/cold_path.{txt,json}; logs in $COLD_ROOT/logs.
#   COLD_PATH_MOVE_CACHES=yes bench/cold_path.sh     (as root, machine to itself, ~1 h)
#   COLD_PATH_TARGETS="help" ...                     (only the move-aside and restore, a check)
set -uo pipefail
[ "${COLD_PATH_MOVE_CACHES:-}" = yes ] || {
  echo "cold_path.sh moves this machine's caches aside for the length of the run (~1 h);" \
       "set COLD_PATH_MOVE_CACHES=yes to go ahead" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${COLD_ROOT:-/var/tmp/agent-cold-path}
targets=${COLD_PATH_TARGETS:-up test}
out=${COLD_PATH_RESULTS:-$repo/bench/results}
aside=$root/aside
# /var/lib/docker is often a mount point of its own: its entries move into a directory inside it
docker_aside=/var/lib/docker/.cold-path-aside
moved=(/var/lib/agent-testbed "$HOME/.cache" "$(go env GOMODCACHE)" "$(go env GOCACHE)" "$HOME/.ansible"
       "$HOME/.local/share/helm")

stop_everything() {
  (cd "$1" && make -k ci-services-down) >/dev/null 2>&1
  python3 "$repo/testbed/cluster.py" down >/dev/null 2>&1
  pkill -f "dockerd --host unix:///var/run/docker.sock" 2>/dev/null; sleep 3
  pkill -9 -f "containerd --config /var/run/docker/containerd" 2>/dev/null
  umount /run/docker/netns/default 2>/dev/null
  rm -f /var/run/docker.sock
}

restore() {
  echo "== cold path: restoring the caches"
  stop_everything "$root/src"
  [ -f "$aside/manifest" ] && while read -r orig dest; do
    rm -rf "$orig" && mkdir -p "$(dirname "$orig")" && mv "$dest" "$orig" && echo "restored $orig"
  done < "$aside/manifest"
  rm -f "$aside/manifest"
  if [ -d "$docker_aside" ]; then
    find /var/lib/docker -mindepth 1 -maxdepth 1 ! -path "$docker_aside" -exec rm -rf {} +
    find "$docker_aside" -mindepth 1 -maxdepth 1 -exec mv -t /var/lib/docker {} + && rmdir "$docker_aside" \
      && echo "restored /var/lib/docker"
  fi
}

[ -e "$aside/manifest" ] || [ -d "$docker_aside" ] && {
  echo "a previous cold run did not restore its caches ($aside/manifest, $docker_aside): restore them first" >&2
  exit 1; }
rm -rf "$root/src" "$root/logs" && mkdir -p "$aside" "$root/logs"
git clone -q "$repo" "$root/src"
stop_everything "$repo"
if grep -q /var/lib/agent-testbed /proc/mounts; then
  echo "mounts remain under /var/lib/agent-testbed: not moving anything" >&2; exit 1
fi
trap restore EXIT
for path in "${moved[@]}"; do
  [ -e "$path" ] || continue
  dest=$aside/$(echo "$path" | tr / _)
  mv "$path" "$dest" && echo "$path $dest" >> "$aside/manifest" || exit 1
done
if [ -d /var/lib/docker ]; then
  mkdir -p "$docker_aside"
  find /var/lib/docker -mindepth 1 -maxdepth 1 ! -path "$docker_aside" -exec mv -t "$docker_aside" {} + || exit 1
fi

cd "$root/src" || exit 1
# a newcomer's shell: nothing inherited from a calling make (its exported VENV, RESULTS, PATH...)
base_path=$(echo "$PATH" | tr : '\n' | grep -v -e "^$repo/" -e "/agent-service-platform/" | paste -sd:)
declare -A secs rcs
start=$(date +%s)
for target in $targets; do
  t=$(date +%s)
  env -i HOME="$HOME" USER="${USER:-root}" LANG=C.UTF-8 PATH="$base_path" make "$target" \
    > "$root/logs/$target.log" 2>&1
  rcs[$target]=$?
  secs[$target]=$(( $(date +%s) - t ))
  echo "== make $target: rc ${rcs[$target]} after ${secs[$target]} s ($(grep -E '^[0-9]+ passed, [0-9]+ failed$' \
    "$root/logs/$target.log" | tail -1))"
done
total=$(( $(date +%s) - start ))
built=$(grep -hoE '>> (tools|tracing|monitoring images): [^ ]+ .*built in [0-9]+s' "$root"/logs/*.log || true)
stages=$(cat .results/stage-times.json 2>/dev/null || echo '{}')
caches="go build cache $(du -sh "$(go env GOCACHE)" 2>/dev/null | cut -f1), module cache"
caches="$caches $(du -sh "$(go env GOMODCACHE)" 2>/dev/null | cut -f1), docker $(du -sh --exclude=.cold-path-aside /var/lib/docker 2>/dev/null | cut -f1)"
{
  echo "cold path (README's commands, every cache moved aside), $(git log --oneline -1 | cut -c1-60),"
  echo "$(date -u +%FT%TZ), $(nproc) cores"
  for target in $targets; do printf 'make %-6s %6d s  rc %d\n' "$target" "${secs[$target]}" "${rcs[$target]}"; done
  printf 'total       %6d s\n' "$total"
  echo "$caches"
  echo "built from source:"; echo "$built" | sed 's/^/  /'
} | tee "$out/cold_path.txt"
python3 - "$out/cold_path.json" "$total" "$stages" "$targets" <<PY
import json, sys
path, total, stages, targets = sys.argv[1:5]
secs = {$(for t in $targets; do printf '"%s": [%s, %s], ' "$t" "${secs[$t]}" "${rcs[$t]}"; done)}
json.dump({"targets": {t: {"s": s, "rc": rc} for t, (s, rc) in secs.items()}, "total_s": int(total),
           "make_test_stages": json.loads(stages)}, open(path, "w"), indent=2)
PY
for target in $targets; do [ "${rcs[$target]}" -eq 0 ] || exit 1; done
