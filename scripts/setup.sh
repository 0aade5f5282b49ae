#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine (run as root): Debian
# packages, npm dependencies, the eBPF loader and the TypeScript build.
# Each step is skipped when its result is already there and up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

APT_PACKAGES=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev make gcc pkg-config python3 python3-yaml python3-psycopg curl openssl libssl-dev prometheus nginx-light chromium postgresql redis-server redis-tools mariadb-server mariadb-client libdbd-mariadb-perl)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing Debian packages: ${missing[*]} (run this as root, or install them)"; exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# eBPF needs bpffs and tracefs; a fresh machine may have neither mounted.
if [ "$(id -u)" = 0 ]; then
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || say "warning: could not mount bpffs"
  mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || say "warning: could not mount tracefs"
fi

if [ -r /sys/kernel/btf/vmlinux ]; then
  say "building the eBPF loader (make -C bpf)"
  make -s -C bpf
else
  say "warning: /sys/kernel/btf/vmlinux missing: eBPF loader not built (capture will be unavailable)"
fi

say "building the agent (tsc)"
npx tsc -p backend-agent/tsconfig.json
say "building the Grafana plugin (typecheck, lint, webpack -> dist/)"
npm run -s build:plugin
say "done"
