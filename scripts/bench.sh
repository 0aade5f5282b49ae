#!/usr/bin/env bash
# npm run bench [-- --quick] [-- --skip-build] [-- --port-base N]
#
# The performance benchmark of issue #8, first slice: in-process ingest rate,
# overhead of the agent (and of the OpenTelemetry SDK) on real services under
# saturating wrk load, where loss begins on the live path, and a CPU profile
# of the ingest path. Results (tables, JSON, the profile) are printed and kept
# under bench/results/<UTC time>-<mode>/. Full run ~8 min, --quick ~2 min.
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
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
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

log "1/4 ingest, in process"
run bench/ingest.ts "${QUICK_FLAG[@]}" --json "$OUT/ingest.json" | grep -v '^INGEST_JSON' | tee "$OUT/ingest.txt"

if [ "$(id -u)" = 0 ]; then
  log "2/4 overhead under saturating load"
  run bench/overhead.ts "${QUICK_FLAG[@]}" --port-base "$PORT_BASE" --json "$OUT/overhead.json" | grep -v '^OVERHEAD_JSON' | tee "$OUT/overhead.txt"
  log "3/4 where loss begins on the live path"
  run bench/loss.ts "${QUICK_FLAG[@]}" --port-base "$((PORT_BASE + 40))" --json "$OUT/loss.json" | grep -v '^LOSS_JSON' | tee "$OUT/loss.txt"
else
  log "2/4 and 3/4 skipped: eBPF capture needs root"
fi

log "4/4 CPU profile of the ingest path (decode + pipeline + SQLite)"
mkdir -p "$OUT/profile"
PROFILE_REQUESTS=20000
[ "$MODE" = quick ] && PROFILE_REQUESTS=5000
node --cpu-prof --cpu-prof-dir "$OUT/profile" --import tsx bench/ingest.ts --stage store --repeats 2 --requests "$PROFILE_REQUESTS" >/dev/null
run bench/profile-summary.ts "$OUT"/profile/*.cpuprofile --top 15 | tee "$OUT/profile.txt"

log "done in $((SECONDS - T0)) s; results in $OUT"
