#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the parallel-worker tests and print its URL.
# Installs the Debian package when the server is missing (CI runs as root).
set -euo pipefail
PORT="${MONAS_PG_PORT:-54329}"
DATA="${MONAS_PG_DATA:-/tmp/monas-pg}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) 1>&2
fi
BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
RUN=()
if [ "$(id -u)" = "0" ]; then  # the server refuses to run as root
  id postgres >/dev/null 2>&1 || useradd -r -m postgres
  RUN=(runuser -u postgres --)
fi
if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  [ "${#RUN[@]}" -gt 0 ] && chown postgres "$DATA"
  "${RUN[@]}" "$BIN/initdb" -D "$DATA" -U monas --auth=trust >/dev/null
fi
if ! "${RUN[@]}" "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  "${RUN[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
fi
"${RUN[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U monas -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname='monas_test'" | grep -q 1 || \
  "${RUN[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U monas monas_test
echo "postgresql+psycopg2://monas:monas@127.0.0.1:$PORT/monas_test"
