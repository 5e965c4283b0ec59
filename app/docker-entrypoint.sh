#!/bin/sh
# One image, five processes. The first argument picks the process, which is exec'ed so
# that it is PID 1 and receives SIGTERM directly:
#   api | worker | beat | flower | migrate   (anything else is exec'ed as given)
set -eu

# prometheus_client multiprocess mode: set before Python starts, wiped at every start
# (an emptyDir survives container restarts, stale files would resurrect old values).
PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus}"
export PROMETHEUS_MULTIPROC_DIR
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR" "${WORKER_STATE_DIR:-/tmp}"

cmd="${1:-api}"
[ "$#" -gt 0 ] && shift

case "$cmd" in
  api)
    # One uvicorn process per container: the default registry is exact, and faster than
    # multiprocess files (those are for the worker's prefork children). The log config makes
    # uvicorn's own lines, printed before the app configures logging, JSON too.
    unset PROMETHEUS_MULTIPROC_DIR
    exec python -m uvicorn --factory app.main:create_app \
      --log-config "${0%/*}/app/core/uvicorn-logging.json" \
      --host "${API_HOST:-0.0.0.0}" --port "${API_PORT:-8000}" \
      --no-access-log --proxy-headers --forwarded-allow-ips '*' \
      --timeout-graceful-shutdown "${API_GRACEFUL_SHUTDOWN:-20}" "$@" ;;
  worker)
    exec celery -A app.worker.celery_app worker \
      --queues "${CELERY_QUEUES:-default,agents,priority}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" \
      --hostname "${CELERY_HOSTNAME:-worker@%h}" \
      --loglevel "${LOG_LEVEL:-INFO}" --without-mingle --without-gossip "$@" ;;
  beat)
    exec celery -A app.worker.celery_app beat --loglevel "${LOG_LEVEL:-INFO}" \
      --pidfile= "$@" ;;
  flower)
    exec celery -A app.worker.celery_app flower \
      --address="${FLOWER_ADDRESS:-0.0.0.0}" --port="${FLOWER_PORT:-5555}" --persistent=False "$@" ;;
  migrate)
    exec python -m app.prestart "$@" ;;
  *)
    exec "$cmd" "$@" ;;
esac
