#!/usr/bin/env bash
# Runs the TypeScript test files under test/ with Node's built-in test runner.
#   scripts/run-tests.sh [unit|all] [extra files...]
# unit: everything except test/integration and test/bpf (no root, no kernel needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scope=${1:-all}
shift || true
if [ $# -gt 0 ]; then
  files=("$@")
elif [ "$scope" = unit ]; then
  mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/integration/*' -not -path 'test/bpf/*' | sort)
else
  mapfile -t files < <(find test -name '*.test.ts' | sort)
fi
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
