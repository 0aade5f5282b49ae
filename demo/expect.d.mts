// Types for expect.mjs, so TypeScript tests can import it.
import type { DemoEdge, EdgeCount } from './topology.mjs';

export interface InboundCounters {
  total: number;
  withTraceparent: number;
  withoutTraceparent: number;
  byStatus: Record<string, number>;
  byRoute: Record<string, Record<string, number>>;
}

export interface ExpectedEdge extends DemoEdge, EdgeCount {
  /** Failed calls: HTTP >= 500, gRPC server-fault codes, datastore errors, plus calls that got no response. */
  errors: number;
  predicted: EdgeCount;
}

export interface Expectations {
  stateDir: string;
  loadgenFile: string | null;
  ok: boolean;
  /** Whether PostgreSQL and Redis ran (run.json): their edges are in `edges` only then. */
  databases: boolean;
  /** "client->server" -> calls. */
  counts: Record<string, number>;
  edges: ExpectedEdge[];
  services: Record<string, {
    pid: number;
    port: number;
    final: boolean;
    healthz: number;
    connections: number;
    inbound: InboundCounters;
    outbound: Record<string, Record<string, number>>;
  }>;
  loadgen: null | {
    pid: number;
    sent: number;
    completed: number;
    failed: number;
    withTraceparent: number;
    byPath: Record<string, Record<string, number>>;
    byStatus: Record<string, number>;
    startedAtUs: number;
    endedAtUs: number;
  };
  predictedUnanswered: number;
  problems: string[];
  notes: string[];
}

export function computeExpectations(stateDir: string, loadgenFile?: string): Expectations;
