#!/usr/bin/env bash
# npm run bench [-- --quick] [-- --skip-build] [-- --port-base N] [-- --soak-minutes N]
#
# The performance benchmark of issue #8: in-process ingest rate, overhead of
# the agent (and of the OpenTelemetry SDK) on real services under saturating
# wrk load, where loss begins on the live path, query latency over 1M and 10M
# span stores, agent memory at 1k and 10k connections, a CPU profile of the
# ingest path, and a table of the targets. Results (tables, JSON, the profile)
# are printed and kept under bench/results/<UTC time>-<mode>/. Full run: ~13
# min plus building the query stores once (cached in $WIRETRACE_BENCH_FIXTURES,
# default /tmp/wiretrace-query-fixtures: 1M spans ~1.5 GB and a few minutes,
# 10M ~15 GB and most of an hour on 2 cores); --quick ~3 min (200k-span store).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=full
BUILD=1
PORT_BASE=19500
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --skip-build) BUILD=0 ;;
    --port-base) PORT_BASE="$2"; shift ;;
    --soak-minutes) SOAK_MINUTES="$2"; shift ;;  # reliability block below (burst and soak, issue #9)
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
QUICK_FLAG=()
[ "$MODE" = quick ] && QUICK_FLAG=(--quick)

log() { echo "[bench] $*"; }

# Tools: Debian's wrk and nginx are the load generator and a service under test.
missing=()
for tool in wrk nginx python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} with apt-get"
    apt-get install -y wrk nginx python3 >/dev/null
  else
    echo "bench: missing ${missing[*]}; install them (Debian: apt-get install -y wrk nginx python3)" >&2
    exit 1
  fi
fi

# Benchmark-only npm dependencies (the OpenTelemetry SDK) live in bench/node_modules.
if [ ! -d bench/node_modules/@opentelemetry/sdk-trace-node ]; then
  log "installing benchmark dependencies into bench/node_modules"
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$BUILD" = 1 ]; then
  log "building the agent"
  npx tsc -p backend-agent/tsconfig.json
  [ -x bpf/wiretrace-loader ] || { log "building the loader"; make -C bpf >/dev/null; }
fi

OUT="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-$MODE"
mkdir -p "$OUT"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "mode: $MODE"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -r)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "node: $(node --version)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "nginx: $(nginx -v 2>&1)"
  echo "python: $(python3 --version)"
  echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/machine.txt"

T0=$SECONDS
run() { node --import tsx "$@"; }

FIXTURES="${WIRETRACE_BENCH_FIXTURES:-/tmp/wiretrace-query-fixtures}"

log "1/6 ingest, in process"
run bench/ingest.ts "${QUICK_FLAG[@]}" --json "$OUT/ingest.json" | grep -v '^INGEST_JSON' | tee "$OUT/ingest.txt"

if [ "$(id -u)" = 0 ]; then
  log "2/6 overhead under saturating load"
  run bench/overhead.ts "${QUICK_FLAG[@]}" --port-base "$PORT_BASE" --json "$OUT/overhead.json" | grep -v '^OVERHEAD_JSON' | tee "$OUT/overhead.txt"
  log "3/6 where loss begins on the live path"
  run bench/loss.ts "${QUICK_FLAG[@]}" --port-base "$((PORT_BASE + 40))" --json "$OUT/loss.json" | grep -v '^LOSS_JSON' | tee "$OUT/loss.txt"
else
  log "2/6 and 3/6 skipped: eBPF capture needs root"
fi

log "4/6 query latency over large stores (fixtures in $FIXTURES)"
run bench/query.ts "${QUICK_FLAG[@]}" --dir "$FIXTURES" --json "$OUT/query.json" | grep -v '^QUERY_JSON' | tee "$OUT/query.txt"

log "5/6 agent memory and CPU at 1k and 10k keep-alive connections"
run bench/memory.ts "${QUICK_FLAG[@]}" --port "$((PORT_BASE + 45))" --json "$OUT/memory.json" | grep -v '^MEMORY_JSON' | tee "$OUT/memory.txt"

log "6/6 CPU profile of the ingest path (decode + pipeline + SQLite)"
mkdir -p "$OUT/profile"
PROFILE_REQUESTS=20000
[ "$MODE" = quick ] && PROFILE_REQUESTS=5000
node --cpu-prof --cpu-prof-dir "$OUT/profile" --import tsx bench/ingest.ts --stage store --repeats 2 --requests "$PROFILE_REQUESTS" >/dev/null
run bench/profile-summary.ts "$OUT"/profile/*.cpuprofile --top 15 | tee "$OUT/profile.txt"

# ---- reliability under load (issue #9): a sustained burst and a soak --------
# burst: 20k req/s offered over 1,000 connections to nginx under capture (30 s;
# --quick 10 s): agent RSS against its documented bound, /api/health and trace
# search latency during the burst, every request accounted for (served, spanned
# or covered by a counted drop). soak: 500 req/s for --soak-minutes (default
# 10; skipped with --quick), figures every minute, RSS and latency trends.
if [ "$(id -u)" = 0 ]; then
  log "reliability: sustained burst under capture"
  run bench/burst.ts "${QUICK_FLAG[@]}" --port-base "$((PORT_BASE + 70))" --json "$OUT/burst.json" | grep -v '^BURST_JSON' | tee "$OUT/burst.txt"
  if [ "$MODE" = quick ]; then
    log "reliability: soak skipped in --quick"
  else
    log "reliability: soak, ${SOAK_MINUTES:-10} min at moderate load"
    run bench/soak.ts --soak-minutes "${SOAK_MINUTES:-10}" --port-base "$((PORT_BASE + 80))" --json "$OUT/soak.json" | grep -v '^SOAK_JSON' | tee "$OUT/soak.txt"
  fi
else
  log "reliability: burst and soak skipped: eBPF capture needs root"
fi
# ---- end of the reliability block --------------------------------------------

run bench/summary.ts "$OUT" | tee "$OUT/summary.txt"

log "done in $((SECONDS - T0)) s; results in $OUT"
