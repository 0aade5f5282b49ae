// Types for nginx-proxy.mjs, so TypeScript tests can import it.

export declare const NGINX: string;

export interface NginxOptions {
  listenPort: number;
  upstreamPort: number;
  dir: string;
  keepalive?: number;
}

export declare function nginxConfig(opts: NginxOptions): string;
export declare function nginxCommand(opts: NginxOptions): [string, string[]];
