#!/usr/bin/env bash
# Debian's docker.io daemon for building the test bed's images.
#   docker.sh up      start dockerd unless a daemon already answers on /var/run/docker.sock
#   docker.sh down    stop the dockerd this script started (never one started by someone else)
#   docker.sh status  exit 0 when a daemon answers
# The daemon keeps its images in /var/lib/docker: they are the image cache of `make images`.
set -euo pipefail
state=/run/agent-testbed-docker          # outside /run/agent-testbed: cluster-down keeps docker
log=/var/log/agent-testbed/dockerd.log
pidfile=$state/dockerd.pid

answers() { timeout 10 docker info >/dev/null 2>&1; }

up() {
  if answers; then echo ">> docker: daemon running"; return 0; fi
  command -v dockerd >/dev/null || { echo "docker: dockerd not found; run 'make debs' (Debian's docker.io)" >&2; exit 1; }
  if [ -S /var/run/docker.sock ] && pgrep -x dockerd >/dev/null; then
    echo "docker: a dockerd process exists but does not answer on /var/run/docker.sock;" \
         "look at $log or stop it" >&2; exit 1
  fi
  mkdir -p "$state" "$(dirname "$log")"
  echo ">> docker: starting dockerd (log: $log)"
  # --oom-score-adjust=0: this host refuses negative oom_score_adj (docker's default is -500).
  setsid nohup dockerd --host unix:///var/run/docker.sock --oom-score-adjust=0 \
    >>"$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 60); do
    if answers; then echo ">> docker: daemon ready"; return 0; fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || break
    sleep 0.5
  done
  echo "docker: dockerd did not come up; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
}

down() {
  [ -f "$pidfile" ] || { echo ">> docker: not started by us, leaving it alone"; return 0; }
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = dockerd ]; then
    echo ">> docker: stopping dockerd ($pid)"
    kill "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) answers ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
