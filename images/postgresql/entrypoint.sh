#!/bin/sh
# Initialise $PGDATA on the first start (superuser POSTGRES_USER with POSTGRES_PASSWORD, database
# POSTGRES_DB, password auth over TCP), then run postgres in the foreground as PID 1.
set -eu
: "${PGDATA:?PGDATA must be set}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "postgres-entrypoint: initialising $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  pwfile=$(mktemp)
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/var/run/postgresql'"
    echo "log_destination = 'stderr'"
  } >> "$PGDATA/postgresql.conf"
  {
    echo "host all all 0.0.0.0/0 scram-sha-256"
    echo "host all all ::/0 scram-sha-256"
  } >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != "postgres" ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" \
      | postgres --single -D "$PGDATA" -c unix_socket_directories=/var/run/postgresql postgres >/dev/null
  fi
fi
exec postgres -D "$PGDATA"
