#!/usr/bin/env bash
# Installs what building and testing Ferry needs. Idempotent: installs only
# what is missing, runs `apt-get update` only when something is, and runs
# `npm ci` in tests/node only when node_modules is missing or stale.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev
  libsimdjson-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libtomlplusplus-dev libvalijson-dev
  libpq-dev postgresql
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  python3 python3-jsonschema nodejs npm ca-certificates curl wrk
  e2fsprogs util-linux systemd
  prometheus  # for promtool: the tests check /metrics with `promtool check metrics`
  chromium    # the dashboard's browser test (tests/node/dashboard_e2e.mjs, driven by playwright-core)
)

if [[ "$(id -u)" -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  SUDO=()
fi

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# Some tools may come from elsewhere than Debian's package of that name
# (nodejs from NodeSource bundles npm and conflicts with Debian's npm).
provided_otherwise() {
  case "$1" in
    npm) command -v npm >/dev/null 2>&1 ;;
    nodejs) command -v node >/dev/null 2>&1 ;;
    python3) command -v python3 >/dev/null 2>&1 ;;
    *) return 1 ;;
  esac
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! installed "$pkg" && ! provided_otherwise "$pkg"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if [[ "$(id -u)" -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
    echo "setup: missing packages (${missing[*]}) and not root, no sudo: install them and rerun" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: system packages already installed"
fi

# Node tools (tests/node): the Standard Webhooks cross-check and the OpenAPI validator.
NODE_DIR="$ROOT/tests/node"
if [[ -f "$NODE_DIR/package-lock.json" ]]; then
  stamp="$NODE_DIR/node_modules/.ferry-lock.sha256"
  want="$(sha256sum "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json" | sha256sum | cut -d' ' -f1)"
  if [[ -d "$NODE_DIR/node_modules" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "setup: tests/node/node_modules up to date"
  else
    echo "setup: npm ci in tests/node"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund)
    echo "$want" >"$stamp"
  fi
fi

echo "setup: done"
