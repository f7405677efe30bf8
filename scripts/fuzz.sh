#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang in build-fuzz/ and runs each
# for SECONDS_PER_TARGET seconds (default 30) on a copy of its seed corpus
# (fuzz/corpus/<target>/; the catalog target also gets catalogs/*.json). New
# corpus entries and reproducers stay in build-fuzz/fuzz-runs/; nothing is
# written into the repository. Exits non-zero, naming the reproducer, if any
# target finds a crash, a leak, a timeout or runs out of memory.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# fuzz/README.md says how to run one target for longer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_PER_TARGET="${1:-30}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || ((SECONDS_PER_TARGET < 1)); then
  echo "usage: $0 [SECONDS_PER_TARGET]" >&2
  exit 2
fi
BUILD="$ROOT/build-fuzz"
RUNS="$BUILD/fuzz-runs"
TARGETS=(publish_parser http_request catalog_profile signature)

build_start=$SECONDS
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DFERRY_FUZZ=ON -DFERRY_BUILD_TESTS=OFF -DFERRY_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target fuzzers
echo "fuzz: built in $((SECONDS - build_start)) s"

# Leaks are findings too (LeakSanitizer runs at the end of each input that
# libFuzzer suspects, and at exit).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

rm -rf "$RUNS"
failed=()
for target in "${TARGETS[@]}"; do
  run="$RUNS/$target"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp "$ROOT/fuzz/corpus/$target/"* "$run/corpus/"
  if [[ "$target" == catalog_profile ]]; then
    cp "$ROOT/catalogs/"*.json "$run/corpus/"
  fi
  args=(-max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$run/artifacts/")
  if [[ -f "$ROOT/fuzz/dict/$target.dict" ]]; then
    args+=(-dict="$ROOT/fuzz/dict/$target.dict")
  fi
  echo "fuzz: $target for ${SECONDS_PER_TARGET} s"
  status=0
  "$BUILD/fuzz/fuzz_$target" "${args[@]}" "$run/corpus" >"$run/log" 2>&1 || status=$?
  # libFuzzer's last status line: "#N DONE cov: … ft: … corp: … exec/s: …"
  grep -E '^#[0-9]+[[:space:]]+DONE' "$run/log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$run/log" | tr '\n' ' ' || true
  echo
  if ((status != 0)) || compgen -G "$run/artifacts/*" >/dev/null; then
    echo "fuzz: $target FAILED (exit $status); log: $run/log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*runtime error)' "$run/log" | head -n 5 >&2 || true
    for artifact in "$run/artifacts/"*; do
      [[ -e "$artifact" ]] || continue
      echo "fuzz: reproducer: $artifact" >&2
      echo "fuzz:   rerun with: $BUILD/fuzz/fuzz_$target $artifact" >&2
    done
    failed+=("$target")
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET} s each, no findings"
