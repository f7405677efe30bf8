#!/usr/bin/env bash
# Builds Ferry and runs every test (unit and integration) with ctest.
#   scripts/test.sh              build/ (RelWithDebInfo)
#   scripts/test.sh --sanitize   build-asan/ with AddressSanitizer + UBSan
# Extra arguments after the options go to ctest (e.g. -R integration).
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

if ((sanitize)); then
  build_dir=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_SANITIZE=ON)
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
ctest --test-dir "$build_dir" --output-on-failure -j2 "${ctest_args[@]}"
