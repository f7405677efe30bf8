#!/usr/bin/env bash
# Builds Ferry and runs every test (unit and integration) with ctest.
#   scripts/test.sh              build/ (RelWithDebInfo)
#   scripts/test.sh --sanitize   build-asan/ with AddressSanitizer + UBSan
# Extra arguments after the options go to ctest (e.g. -R integration.sqlite,
# -L postgres). Tests that need PostgreSQL (label `postgres`) share a
# throwaway server that ctest's fixture `postgres` starts on 127.0.0.1 in
# BUILD_DIR/postgres-test and stops at the end (as user postgres when root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

sanitize=0
ctest_args=()
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    *) ctest_args+=("$arg") ;;
  esac
done

bash scripts/setup.sh

# The postgres test variants need a PostgreSQL server and psql (Debian's
# postgresql package, in setup.sh's list); as root the server runs as postgres.
if ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || ! command -v psql >/dev/null 2>&1; then
  echo "test: PostgreSQL server or psql missing (Debian package postgresql; scripts/setup.sh installs it)" >&2
  exit 1
fi
if [[ "$(id -u)" -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
  echo "test: running as root but there is no postgres user to run the test PostgreSQL server" >&2
  exit 1
fi

if ((sanitize)); then
  build_dir=build-asan
  # -O1 -g1: the optimisation ASan is meant for, and line tables for its
  # reports without full debug info; compiles in about half the time of
  # -O2 -g (http_server.cpp: 46 s against 81 s on 2 cores).
  cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DFERRY_SANITIZE=ON)
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
else
  build_dir=build
  cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi

echo "test: configuring $build_dir"
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}"
echo "test: building $build_dir"
cmake --build "$build_dir"
echo "test: running ctest in $build_dir"
# ctest's fixture stops the PostgreSQL test server; this stops it also when
# the run is interrupted before the fixture's cleanup.
pg_dir="$build_dir/postgres-test"
stop_test_postgres() {
  if [[ -f "$pg_dir/data/postmaster.pid" ]]; then
    bash scripts/postgres-test-server.sh stop "$pg_dir" || true
  fi
}
trap stop_test_postgres EXIT
ctest --test-dir "$build_dir" --output-on-failure -j2 "${ctest_args[@]}"
