/**
 * Checks, before the loader is started, that this host can run eBPF capture,
 * so a missing prerequisite is one clear line and not a libbpf error dump.
 * The loader repeats the kernel-side checks itself (it may be run alone).
 */
import fs from 'node:fs';

// Bits of the effective capability set (linux/capability.h).
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export interface PreflightInput {
  loaderPath: string;
  btfPath: string;
  /** Contents of /proc/self/status (for CapEff). */
  procStatus: string;
  exists: (p: string) => boolean;
}

/** Returns the first missing prerequisite as one line, or undefined when capture can start. */
export function checkCapturePrerequisites(input: PreflightInput): string | undefined {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(input.procStatus)?.[1];
  const caps = capEff ? BigInt(`0x${capEff}`) : 0n;
  const has = (bit: bigint): boolean => ((caps >> bit) & 1n) === 1n;
  if (!(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)))) {
    return 'missing privilege: eBPF capture needs CAP_BPF and CAP_PERFMON (or root); run as root or use --capture off';
  }
  if (!input.exists(input.btfPath)) {
    return `missing BTF: ${input.btfPath} not found (the kernel needs CONFIG_DEBUG_INFO_BTF=y)`;
  }
  if (!input.exists(input.loaderPath)) {
    return `missing loader: ${input.loaderPath} not built (run "npm run build" or "make -C bpf")`;
  }
  return undefined;
}

export function checkThisHost(loaderPath: string, btfPath: string): string | undefined {
  let procStatus = '';
  try {
    procStatus = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return 'missing /proc: cannot read /proc/self/status to check privileges';
  }
  return checkCapturePrerequisites({ loaderPath, btfPath, procStatus, exists: (p) => fs.existsSync(p) });
}
