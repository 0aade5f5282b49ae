/**
 * Writes a response body, gzip-compressed when the client accepts it and the
 * body is big enough for compression to pay off.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { gzip } from 'node:zlib';

/** Below this, gzip's header and CPU cost outweigh the savings. */
const MIN_GZIP_BYTES = 1024;

/** Whether Accept-Encoding allows gzip (explicitly or through `*`), honouring q=0. */
export function acceptsGzip(headers: IncomingHttpHeaders): boolean {
  const header = headers['accept-encoding'];
  if (!header) return false;
  let gzipQ: number | undefined;
  let starQ: number | undefined;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const param of params) {
      const [k, v] = param.trim().split('=');
      if (k === 'q' && v !== undefined) q = Number(v);
    }
    if (Number.isNaN(q)) q = 0;
    if (coding === 'gzip' || coding === 'x-gzip') gzipQ = q;
    else if (coding === '*') starQ = q;
  }
  return (gzipQ ?? starQ ?? 0) > 0;
}

export interface OutgoingBody {
  status: number;
  contentType: string;
  body: Buffer;
  headers?: Readonly<Record<string, string>>;
}

export function sendBody(res: ServerResponse, requestHeaders: IncomingHttpHeaders, out: OutgoingBody): void {
  const write = (body: Buffer, encoding?: string) => {
    res.writeHead(out.status, {
      'Content-Type': out.contentType,
      'Content-Length': String(body.length),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      Vary: 'Accept-Encoding',
      ...(encoding ? { 'Content-Encoding': encoding } : {}),
      ...out.headers,
    });
    res.end(body);
  };
  if (out.body.length < MIN_GZIP_BYTES || !acceptsGzip(requestHeaders)) {
    write(out.body);
    return;
  }
  // Async gzip keeps large trace bodies from blocking the event loop.
  gzip(out.body, (err, compressed) => (err ? write(out.body) : write(compressed, 'gzip')));
}
