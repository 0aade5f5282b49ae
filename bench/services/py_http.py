"""The benchmarked Python service: stdlib http.server with one thread per
connection, HTTP/1.1 keep-alive and a small JSON response."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = json.dumps({"id": 42, "sku": "ABC-1234", "inStock": True, "quantity": 17, "warehouse": "eu-west"}).encode()


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as real services and wrk expect; HTTP/1.0 would reconnect per request.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus
    # delayed ACKs stall every response for ~40 ms (real servers set it too).
    disable_nagle_algorithm = True

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format, *args):
        pass  # logging every request would dominate the measurement


if __name__ == "__main__":
    port = int(sys.argv[1])
    # The default listen backlog of 5 overflows when wrk opens its connections
    # at once; the refused SYNs are retried after a second and show up as p99.
    ThreadingHTTPServer.request_queue_size = 128
    # wrk resets its connections when a run ends; that is not an error worth a traceback.
    ThreadingHTTPServer.handle_error = lambda self, request, client_address: None
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"ready {port}", flush=True)
    server.serve_forever()
