#!/usr/bin/env bash
# The README's demo command: set up (idempotent), start the agent with eBPF
# capture, the demo services and their load, and print where to look.
# Stops everything on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

RATE=${DEMO_RATE:-20}
PORT=${WIRETRACE_DEMO_PORT:-9797}
dir="$PWD/.demo"
mkdir -p "$dir/state"
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "[demo] stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

node backend-agent/bin/wiretrace-agent.js --db "$dir/wiretrace.db" --listen "127.0.0.1:$PORT" 2>"$dir/agent.log" &
pids+=($!)
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "[demo] the agent did not start:"; grep -v '^{' "$dir/agent.log" || tail -5 "$dir/agent.log"; exit 1
  fi
  sleep 0.2
done

node demo/run.mjs --load --rate "$RATE" --state-dir "$dir/state" &
pids+=($!)

# The panel preview (preview/server.mjs): the built panels with live data from this agent, no Grafana needed.
PREVIEW_PORT=${WIRETRACE_PREVIEW_PORT:-3300}
[ -f dist/panels/servicemap/module.js ] || npm run --silent build:plugin >"$dir/plugin-build.log" 2>&1 || echo "[demo] plugin build failed: $dir/plugin-build.log"
node preview/server.mjs --agent "http://127.0.0.1:$PORT" --port "$PREVIEW_PORT" >"$dir/preview.log" 2>&1 &
pids+=($!)

cat <<TXT

[demo] wiretrace is capturing the demo services (load: $RATE requests/s).
  hops       HTTP/1.1 between most services; frontend -> shipping over gRPC (h2c),
             orders -> rates over HTTPS, orders -> postgres and inventory -> redis-server
             (when PostgreSQL and Redis are installed): see demo/README.md
  services   curl -s http://127.0.0.1:$PORT/api/services
  traces     curl -s 'http://127.0.0.1:$PORT/api/traces?service=frontend&limit=5'
  graph      curl -s 'http://127.0.0.1:$PORT/api/dependencies?endTs='\$(date +%s000)'&lookback=600000'
  health     curl -s http://127.0.0.1:$PORT/api/health
  metrics    curl -s http://127.0.0.1:$PORT/metrics
  Grafana    add a Jaeger data source with URL http://127.0.0.1:$PORT
  panels     http://127.0.0.1:$PREVIEW_PORT/?panel=servicemap   (light: add &theme=light; log: $dir/preview.log)
  agent log  $dir/agent.log
Press Ctrl-C to stop.
TXT
wait "${pids[1]}"
