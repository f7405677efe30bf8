#!/usr/bin/env bash
# The ctest fixture `postgres`: a throwaway PostgreSQL server for one ctest run.
#
#   postgres_fixture.sh start DIR   stop any server a previous (interrupted) run
#                                   left in DIR, wipe DIR, start a fresh one
#   postgres_fixture.sh stop DIR    stop it and wipe DIR (unless FERRY_KEEP_DATA)
#
# Tests find the server with `scripts/postgres-test-server.sh url DIR` (the
# harness does that when FERRY_TEST_POSTGRES_DIR=DIR). Each test server gets
# its own database on it (ferry_harness.create_test_database).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PG="$ROOT/scripts/postgres-test-server.sh"

cmd="${1:-}"
dir="${2:-}"
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

case "$cmd" in
  start)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      echo "postgres fixture: stopping the server a previous run left in $dir"
      bash "$PG" stop "$dir" || true
    fi
    rm -rf "$dir"
    url="$(bash "$PG" start "$dir")"
    # Fail here, once, rather than in every test, if the server does not answer.
    psql -X -q -v ON_ERROR_STOP=1 -d "$url" -c "SELECT 1" >/dev/null
    echo "postgres fixture: $url (server dir $dir)"
    ;;
  stop)
    bash "$PG" stop "$dir"
    if [[ -z "${FERRY_KEEP_DATA:-}" ]]; then
      rm -rf "$dir"
    else
      echo "postgres fixture: kept $dir (FERRY_KEEP_DATA)"
    fi
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
