#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback, for tests and benchmarks.
#
#   postgres-test-server.sh start DIR [PORT]   initdb into DIR (if new), start,
#                                              print the server's URL on stdout
#   postgres-test-server.sh stop DIR           stop it (fast shutdown)
#   postgres-test-server.sh url DIR            print the URL of a running one
#
# The server refuses to run as root, so as root it runs as the `postgres`
# user. It listens on 127.0.0.1 only, trusts loopback connections, and keeps
# its socket inside DIR. FERRY_PG_DURABLE=1 keeps fsync on (for benchmarks);
# tests turn it off because they never crash the database server itself.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [PORT] | stop DIR | url DIR" >&2
  exit 2
}

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/pg_ctl" ]]; then
      echo "$dir"
      return
    fi
  done
  echo "postgres-test-server: no PostgreSQL server found (install Debian's postgresql package)" >&2
  exit 1
}

as_server_user() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd="${1:-}"
dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || usage
BIN="$(pg_bin)"

case "$cmd" in
  start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [[ "$(id -u)" -eq 0 ]]; then
      chown postgres "$dir"
      # The server user must be able to reach DIR through its parents.
      parent="$dir"
      while [[ "$parent" != "/" ]]; do
        parent="$(dirname "$parent")"
        chmod o+x "$parent" 2>/dev/null || true
      done
    fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      as_server_user "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    port="${3:-$(free_port)}"
    durable="off"
    [[ "${FERRY_PG_DURABLE:-0}" == "1" ]] && durable="on"
    options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir"
    options+=" -c max_connections=200 -c fsync=$durable -c full_page_writes=$durable -c synchronous_commit=on"
    options+=" -c shared_buffers=128MB -c log_min_messages=warning"
    as_server_user "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$options" -w -t 60 start >/dev/null ||
      { tail -n 30 "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      as_server_user "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
  url)
    [[ -f "$dir/port" ]] || { echo "postgres-test-server: no server in $dir" >&2; exit 1; }
    echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
    ;;
  *)
    usage
    ;;
esac
