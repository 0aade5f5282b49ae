// Types for topology.mjs, so TypeScript tests can import it.

export type Naming = 'OTEL_SERVICE_NAME' | 'SERVICE_NAME' | 'derived';

export interface DemoProcess {
  name: string;
  language: 'node' | 'python';
  /** Path relative to demo/. */
  script: string;
  scriptPath: string;
  naming: Naming;
  /** The agent's ProcessInfo.serviceNameSource for this process. */
  serviceNameSource: 'env:OTEL_SERVICE_NAME' | 'env:SERVICE_NAME' | 'cmdline';
  /** The name read from the command line (script base name). */
  derivedName: string;
  /** The name the agent should report. */
  expectedName: string;
}

export interface DemoService extends DemoProcess {
  portOffset: number;
  portEnv: string;
  /** What it serves: HTTP/1.1, gRPC (h2c, no /healthz) or HTTPS. */
  protocol: 'http' | 'grpc' | 'https';
}

/** A server the runner starts next to the services when installed (databases.mjs). */
export interface DemoDatastore {
  /** The name the agent gives its process (and the server of its edge). */
  name: string;
  kind: 'postgresql' | 'redis';
  portOffset: number;
  portEnv: string;
  expectedName: string;
}

export interface DemoEdge {
  client: string;
  server: string;
  route: string;
  connection: string;
  propagation: string;
  /** Statuses are HTTP codes ('http', 'https'), gRPC codes ('grpc'), or 'ok'/'error' (datastores). */
  protocol: 'http' | 'https' | 'grpc' | 'postgresql' | 'redis';
  /** Present on edges that exist only when the runner started PostgreSQL and Redis. */
  needs?: 'databases';
}

export interface ItemOutcome {
  catalog: number;
  frontend: number;
  orders?: number;
  payments?: number;
  stock?: number;
}

export interface EdgeCount {
  calls: number;
  byStatus: Record<string, number>;
}

export const DEMO_DIR: string;
export const HOST: string;
export const DEFAULT_PORT_BASE: number;
export const PYTHON: string;
export const SERVICES: DemoService[];
export const LOADGEN: DemoProcess;
export const NAME_VARS: string[];
export const DATASTORES: DemoDatastore[];
export const EDGES: DemoEdge[];
export const GRPC_SERVER_ERRORS: ReadonlySet<number>;
export const GRPC_OK: number;
export const GRPC_UNAVAILABLE: number;

export function edgesFor(opts?: { databases?: boolean }): DemoEdge[];
export function isFailure(edge: DemoEdge, status: string | number): boolean;
export function shippingCode(item: number): number;

export function service(name: string): DemoProcess & Partial<DemoService>;
export function ports(base?: number): Record<string, number>;
export function portEnv(base?: number): Record<string, string>;
export function processEnv(
  s: DemoProcess,
  opts?: { portBase?: number; stateDir?: string; verbose?: boolean; baseEnv?: NodeJS.ProcessEnv },
): NodeJS.ProcessEnv;
export function command(s: DemoProcess, extraArgs?: string[]): [string, string[]];
export function edgeKey(client: string, server: string): string;
export function itemOutcome(item: number): ItemOutcome;
export function predictEdges(requests: Array<{ path: string; status: number | null }>, opts?: { databases?: boolean }): {
  edges: Record<string, EdgeCount>;
  unanswered: number;
};
