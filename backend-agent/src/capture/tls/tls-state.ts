/**
 * What the loader's TLS library discovery reported (TLS records, framing v2):
 * which files carry OpenSSL probes, which could not get them, and which
 * processes run a TLS stack the probes cannot see. Served in /api/health so
 * encrypted traffic the agent misses is listed, not silently absent.
 *
 * State belongs to one loader session: a new HELLO starts it over, because
 * the new loader attaches afresh and re-reports every process at start.
 */
import { readFileSync } from 'node:fs';
import type { CaptureEvent, TlsEvent, TlsStack } from '../../model/events.js';
import type { TlsHealth, TlsProbedFile, TlsUnobservedProcess } from '../../model/health.js';

const REASONS: Record<TlsStack, string> = {
  unknown: 'TLS code without SSL_read/SSL_write symbols to probe',
  openssl: 'OpenSSL',
  go: 'Go crypto/tls: no OpenSSL calls to probe',
  'static-openssl': 'OpenSSL linked in without symbols: SSL_read/SSL_write cannot be found',
  boringssl: 'BoringSSL linked in without symbols: SSL_read/SSL_write cannot be found',
  rustls: 'rustls: no OpenSSL calls to probe',
  gnutls: 'GnuTLS: only OpenSSL is probed',
  nss: 'NSS: only OpenSSL is probed',
  other: 'wolfSSL or mbed TLS: only OpenSSL is probed',
};

/** At most this many unobserved processes are kept (a host full of Go services, say). */
const MAX_UNOBSERVED = 1000;

export interface TlsStateOptions {
  /** Whether the loader runs its TLS probes; undefined (a loader on a pipe) = whether it sent TLS records. */
  enabled?: boolean;
  /** For tests: where /proc is (process names are read from it). */
  procRoot?: string;
}

export class TlsState {
  private readonly probed = new Map<string, TlsProbedFile>();
  private readonly failed = new Map<string, { path: string; error: string }>();
  private readonly unobserved = new Map<number, TlsUnobservedProcess>();
  private unobservedOverflow = 0;
  private sawTlsRecord = false;

  constructor(private readonly opts: TlsStateOptions) {}

  observe(events: readonly CaptureEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'hello') this.reset();
      else if (ev.type === 'tls') {
        this.sawTlsRecord = true;
        this.apply(ev);
      }
    }
  }

  private reset(): void {
    this.probed.clear();
    this.failed.clear();
    this.unobserved.clear();
    this.unobservedOverflow = 0;
    this.sawTlsRecord = false;
  }

  private apply(ev: TlsEvent): void {
    const key = `${ev.dev}:${ev.ino}`;
    switch (ev.kind) {
      case 'lib-attached':
        this.probed.set(key, { path: ev.path, probes: ev.probes, foundInPid: ev.pid });
        this.failed.delete(key);
        break;
      case 'lib-detached':
        this.probed.delete(key);
        break;
      case 'lib-failed':
        this.failed.set(key, { path: ev.path, error: `errno ${ev.error}` });
        break;
      case 'proc-unobserved':
        if (this.unobserved.size >= MAX_UNOBSERVED && !this.unobserved.has(ev.pid)) {
          this.unobservedOverflow++;
          break;
        }
        this.unobserved.set(ev.pid, {
          pid: ev.pid,
          comm: this.comm(ev.pid),
          executable: ev.path,
          stack: ev.stack,
          reason: REASONS[ev.stack],
        });
        break;
      case 'proc-gone':
        this.unobserved.delete(ev.pid);
        break;
    }
  }

  private comm(pid: number): string {
    try {
      return readFileSync(`${this.opts.procRoot ?? '/proc'}/${pid}/comm`, 'utf8').trim();
    } catch {
      return ''; // already gone: the executable path still says what it was
    }
  }

  health(): TlsHealth {
    return {
      enabled: this.opts.enabled ?? this.sawTlsRecord,
      probedFiles: [...this.probed.values()],
      failedFiles: [...this.failed.values()],
      unobservedProcesses: [...this.unobserved.values()].sort((a, b) => a.pid - b.pid),
      ...(this.unobservedOverflow ? { unobservedNotListed: this.unobservedOverflow } : {}),
    };
  }
}
