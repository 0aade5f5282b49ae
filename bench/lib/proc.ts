/** CPU time and memory of processes, read from /proc as `top` does. */
import fs from 'node:fs';

const CLOCK_TICKS_PER_SEC = 100; // USER_HZ; 100 on every Linux architecture we run on

/**
 * CPU time of a process in seconds, or undefined when it is gone. Two lower
 * bounds, whichever is larger: utime + stime from /proc/PID/stat include
 * threads that already exited (Python's thread-per-connection server) but are
 * sampled at the 10 ms tick and miss processes that run in short bursts (the
 * loader); schedstat of the live threads is exact to the nanosecond.
 */
export function cpuSeconds(pid: number): number | undefined {
  const ticks = tickCpuSeconds(pid);
  if (ticks === undefined) return undefined;
  let ns = 0;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // thread exited between listing and reading
      }
    }
  } catch {
    return ticks;
  }
  return Math.max(ticks, ns / 1e9);
}

function tickCpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised comm, which may itself contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}

/** Resident set size in MiB, or undefined when the process is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Pids whose comm is `comm`, for spotting other capture agents that share the kernel. */
export function pidsByComm(comm: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/comm`, 'utf8').trim() === comm) out.push(Number(name));
    } catch {
      // raced with exit
    }
  }
  return out;
}

/** Samples CPU and peak RSS of a set of pids over an interval. */
export class ProcSampler {
  private readonly startCpu: Map<number, number>;
  private readonly peakRss = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = process.hrtime.bigint();

  constructor(private readonly pids: number[]) {
    this.startCpu = new Map(pids.map((p) => [p, cpuSeconds(p) ?? 0]));
    this.sample();
    this.timer = setInterval(() => this.sample(), 250);
  }

  private sample(): void {
    for (const p of this.pids) {
      const r = rssMiB(p);
      if (r !== undefined) this.peakRss.set(p, Math.max(this.peakRss.get(p) ?? 0, r));
    }
  }

  /** CPU used per pid in cores (CPU seconds / wall seconds) and peak RSS in MiB. */
  stop(): Map<number, { cores: number; peakRssMiB: number }> {
    clearInterval(this.timer);
    this.sample();
    const wall = Number(process.hrtime.bigint() - this.t0) / 1e9;
    const out = new Map<number, { cores: number; peakRssMiB: number }>();
    for (const p of this.pids) {
      const used = (cpuSeconds(p) ?? this.startCpu.get(p)!) - this.startCpu.get(p)!;
      out.set(p, { cores: used / wall, peakRssMiB: this.peakRss.get(p) ?? 0 });
    }
    return out;
  }
}
