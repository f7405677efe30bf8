#!/usr/bin/env bash
# Builds build/ferry and runs it with ./data as its data dir:
#   scripts/serve.sh [--listen 127.0.0.1:8080] [other `ferry serve` flags]
# The server prints where it listens and its admin token.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh >&2
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
cmake --build build --target ferry >&2
mkdir -p data
exec build/ferry serve --data-dir ./data "$@"
