#!/usr/bin/env bash
# The README's test command: set up (idempotent), typecheck, then every test,
# the eBPF integration tests included (they need root, as CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] typecheck"
npx tsc -p backend-agent/tsconfig.json --noEmit
npx tsc -p test/tsconfig.json --noEmit
# The plugin's typecheck and lint ran in setup's build:plugin.
echo "[test] tests"
bash scripts/run-tests.sh all
