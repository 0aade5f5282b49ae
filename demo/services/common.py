"""Shared plumbing for the Python demo services (stdlib only): routing, W3C
trace context, JSON over http.server / http.client, ground-truth counters and a
clean shutdown. The service scripts stay small enough to read as examples."""

import json
import os
import re
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOST = "127.0.0.1"
VERBOSE = os.environ.get("DEMO_VERBOSE") == "1"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def env_port(name, default):
    return int(os.environ.get(name, default))


def now_us():
    return time.time_ns() // 1000


def sleep_ms(ms):
    time.sleep(ms / 1000)


# ---- W3C trace context ---------------------------------------------------------

def parse_traceparent(value):
    """(trace_id, parent_id, flags) or None when absent or invalid."""
    m = TRACEPARENT.match((value or "").strip())
    if not m or set(m.group(1)) == {"0"} or set(m.group(2)) == {"0"}:
        return None
    return m.group(1), m.group(2), m.group(3)


def new_span_id():
    while True:
        s = secrets.token_hex(8)
        if set(s) != {"0"}:
            return s


PROPAGATE = os.environ.get("DEMO_PROPAGATION") != "off"
_call_lock = threading.Lock()
_call_seq = [0]


def demo_call_header(handler, target):
    """Ground truth: a unique id for this outbound call in `x-demo-call`, and a
    line "inbound call id -> this id" in <service>.calls.jsonl. The agent only
    records this header for evaluation; it never links by it."""
    with _call_lock:
        _call_seq[0] += 1
        child = f"{handler.SERVICE}-{os.getpid()}-{_call_seq[0]}"
        state_dir = os.environ.get("DEMO_STATE_DIR")
        if state_dir:
            line = json.dumps({"service": handler.SERVICE, "parent": handler.headers.get("x-demo-call"),
                               "child": child, "target": target})
            with open(os.path.join(state_dir, f"{handler.SERVICE}.calls.jsonl"), "a") as f:
                f.write(line + "\n")
    return {"x-demo-call": child}


def child_headers(handler, target="?"):
    """Headers for one outbound call: same trace, a new span id per call.
    No trace headers when the inbound request carried no valid context or
    propagation is off (DEMO_PROPAGATION=off); always the ground-truth id."""
    call = demo_call_header(handler, target)
    tp = parse_traceparent(handler.headers.get("traceparent"))
    if tp is None or not PROPAGATE:
        return call
    headers = {**call, "traceparent": f"00-{tp[0]}-{new_span_id()}-{tp[2]}"}
    if handler.headers.get("tracestate"):
        headers["tracestate"] = handler.headers["tracestate"]
    return headers


# ---- counters written to $DEMO_STATE_DIR/<service>.json --------------------------

class Counters:
    def __init__(self, service, port):
        self.service, self.port = service, port
        self.started_at_us = now_us()
        self.lock = threading.Lock()
        self.inbound = {"total": 0, "withTraceparent": 0, "withoutTraceparent": 0,
                        "byStatus": {}, "byRoute": {}}
        self.outbound = {}  # target service -> status (or "error") -> count
        self.healthz = 0    # the runner's readiness probes, kept apart from app traffic
        self.connections = 0  # accepted TCP connections (probes included): shows keep-alive reuse

    def count_inbound(self, route, status, had_traceparent):
        with self.lock:
            i = self.inbound
            i["total"] += 1
            i["withTraceparent" if had_traceparent else "withoutTraceparent"] += 1
            _bump(i["byStatus"], status)
            _bump(i["byRoute"].setdefault(route, {}), status)

    def count_outbound(self, target, status):
        with self.lock:
            _bump(self.outbound.setdefault(target, {}), status if status is not None else "error")

    def write(self, final=False):
        state_dir = os.environ.get("DEMO_STATE_DIR")
        if not state_dir:
            return
        with self.lock:
            doc = {"service": self.service, "language": "python", "pid": os.getpid(),
                   "port": self.port, "startedAtUs": self.started_at_us,
                   "updatedAtUs": now_us(), "final": final,
                   "inbound": self.inbound, "outbound": self.outbound, "healthz": self.healthz,
                   "connections": self.connections}
            text = json.dumps(doc, indent=2) + "\n"
        # Write then rename, so a reader never sees a half-written file.
        path = os.path.join(state_dir, f"{self.service}.json")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)


def _bump(d, key):
    key = str(key)
    d[key] = d.get(key, 0) + 1


# ---- HTTP -------------------------------------------------------------------------

def read_json(resp):
    """Body of an http.client response as JSON (None if it is not JSON).
    Always reads the whole body, so a kept-alive connection can be reused."""
    data = resp.read()
    try:
        return json.loads(data)
    except ValueError:
        return None


class Handler(BaseHTTPRequestHandler):
    """Subclasses set SERVICE, COUNTERS and ROUTES = [(method, regex, route, fn)]
    where fn(handler, match) handles the request."""

    # HTTP/1.1 so clients can keep connections alive; this makes Content-Length
    # mandatory on every response (send_json sets it).
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections are closed after 60 s; clients drop theirs
    # sooner (4 s), so the server never closes under a client's feet.
    timeout = 60
    # send_json writes headers and body in two send() calls (realistic, and it
    # exercises reassembly in the agent); without TCP_NODELAY, Nagle plus the
    # peer's delayed ACK would hold the body back ~40 ms.
    disable_nagle_algorithm = True
    SERVICE = "?"
    COUNTERS = None
    ROUTES = []

    def setup(self):
        super().setup()
        with self.COUNTERS.lock:
            self.COUNTERS.connections += 1

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self):
        path = urlsplit(self.path).path
        if path == "/healthz":
            with self.COUNTERS.lock:
                self.COUNTERS.healthz += 1
            return self.send_json(200, {"status": "ok", "service": self.SERVICE, "pid": os.getpid()})
        self._status = None
        route = f"{self.command} (unmatched)"
        started = time.monotonic()
        try:
            for method, pattern, name, fn in self.ROUTES:
                m = pattern.match(path) if method == self.command else None
                if m:
                    route = name
                    fn(self, m)
                    break
            else:
                self.send_json(404, {"error": "not found"})
        except Exception as exc:  # a bug in a handler must not kill the thread silently
            print(f"{self.SERVICE}: {exc!r}", file=sys.stderr)
            if self._status is None:
                self.send_json(500, {"error": "internal error"})
        finally:
            tp = parse_traceparent(self.headers.get("traceparent"))
            self.COUNTERS.count_inbound(route, self._status or "aborted", tp is not None)
            if VERBOSE:
                ms = (time.monotonic() - started) * 1000
                print(f"{self.SERVICE} {self.command} {self.path} {self._status} {ms:.1f}ms "
                      f"trace={tp[0] if tp else '-'}", file=sys.stderr)

    def read_body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        try:
            return json.loads(data) if data else None
        except ValueError:
            return None

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._status = status

    def log_message(self, fmt, *args):
        pass  # one line per request is written by _dispatch, only when verbose


def serve(service, port, handler_cls):
    """Runs the server until SIGTERM/SIGINT or until the parent process dies."""
    counters = Counters(service, port)
    handler_cls.SERVICE, handler_cls.COUNTERS = service, counters
    try:
        server = ThreadingHTTPServer((HOST, port), handler_cls)
    except OSError as exc:
        print(f"{service}: cannot listen on {HOST}:{port}: {exc}", file=sys.stderr)
        sys.exit(1)
    # Connection threads must not keep the process alive at shutdown.
    server.daemon_threads = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # serve_forever runs in a thread so the main thread is free to handle
    # signals, refresh the state file and watch the parent.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     name="serve", daemon=True).start()
    if VERBOSE:
        print(f"{service} listening on http://{HOST}:{port}", file=sys.stderr)
    parent = os.getppid()
    counters.write()
    while not stop.wait(1.0):
        counters.write()
        if os.getppid() != parent:  # re-parented: whoever started us is gone
            break
    server.shutdown()
    server.server_close()
    time.sleep(0.05)  # let handlers that are writing their last response finish
    counters.write(final=True)
