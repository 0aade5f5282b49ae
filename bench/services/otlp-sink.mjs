// A tiny OTLP/HTTP receiver for the OpenTelemetry baseline: accepts
// protobuf ExportTraceServiceRequest bodies on /v1/traces, counts the spans
// in them, and answers as a collector would. GET /stats reports the counts,
// which prove the instrumented service really exported its spans.
import http from 'node:http';

const port = Number(process.argv[2]);
let requests = 0;
let spans = 0;
let bytes = 0;

/** Reads a protobuf varint at `at`; returns [value, next offset]. */
function varint(buf, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[at++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, at];
    shift += 7;
  }
}

/** Calls onField(fieldNumber, start, end) for each length-delimited field; skips the others. */
function fields(buf, start, end, onField) {
  let at = start;
  while (at < end) {
    let key;
    [key, at] = varint(buf, at);
    const wire = key & 7;
    if (wire === 2) {
      let len;
      [len, at] = varint(buf, at);
      onField(key >>> 3, at, at + len);
      at += len;
    } else if (wire === 0) [, at] = varint(buf, at);
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

// ExportTraceServiceRequest.resource_spans(1) -> ResourceSpans.scope_spans(2) -> ScopeSpans.spans(2)
function countSpans(buf) {
  let n = 0;
  fields(buf, 0, buf.length, (f, s, e) => {
    if (f !== 1) return;
    fields(buf, s, e, (f2, s2, e2) => {
      if (f2 !== 2) return;
      fields(buf, s2, e2, (f3) => {
        if (f3 === 2) n++;
      });
    });
  });
  return n;
}

http
  .createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ requests, spans, bytes }));
      return;
    }
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      requests++;
      bytes += body.length;
      try {
        spans += countSpans(body);
      } catch {
        // A body we cannot walk still counts as a request; spans stay uncounted.
      }
      // An empty ExportTraceServiceResponse is an empty protobuf message.
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
      res.end();
    });
  })
  .listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
