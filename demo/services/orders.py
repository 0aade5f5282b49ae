"""orders (Python): GET /orders/{id}
    -> inventory GET /stock/{id}      a new connection for every call
    -> rates     GET /rates/EUR       HTTPS, one kept-alive connection per handler thread
                                      (only when in stock: the price is converted)
    -> payments  POST /charge         one kept-alive connection per handler thread
    -> PostgreSQL INSERT INTO orders  one per order with a known outcome (200, 402,
                                      409, 502), when the runner started PostgreSQL
Propagates W3C trace context: same trace id, a new span id per outbound call.
Statuses: out of stock 409, declined 402, payment failure 502.
Named by OTEL_SERVICE_NAME (set by the runner)."""

import json
import os
import re
import ssl
import sys
import threading
from http.client import HTTPConnection, HTTPSConnection

sys.dont_write_bytecode = True  # keep demo/services free of __pycache__
import orders_db  # noqa: E402
from common import HOST, Handler, child_headers, env_port, read_json, serve, sleep_ms  # noqa: E402

PORT = env_port("ORDERS_PORT", 18081)
INVENTORY_PORT = env_port("INVENTORY_PORT", 18082)
PAYMENTS_PORT = env_port("PAYMENTS_PORT", 18083)
RATES_PORT = env_port("RATES_PORT", 18087)

_tls = {}
_tls_lock = threading.Lock()


def rates_tls_context():
    """Verifies rates against its self-signed certificate (rates.py writes it
    to DEMO_TLS_DIR, else DEMO_STATE_DIR). Loaded at the first call, when the
    runner has seen rates answer, so the certificate exists."""
    with _tls_lock:
        if "ctx" not in _tls:
            d = os.environ.get("DEMO_TLS_DIR") or os.environ.get("DEMO_STATE_DIR") or "."
            _tls["ctx"] = ssl.create_default_context(cafile=os.path.join(d, "rates-cert.pem"))
        return _tls["ctx"]


class OrdersHandler(Handler):
    # ThreadingHTTPServer runs one thread per inbound connection; each keeps
    # its own connections to payments and rates, closed when the inbound one closes.
    payments_conn = None
    rates_conn = None

    def call(self, target, conn, method, path, body=None):
        """One outbound call, counted under target: (status or None, json)."""
        headers = {"Accept": "application/json", **child_headers(self, target)}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            status, payload = resp.status, read_json(resp)
        except OSError:  # includes timeouts, resets and http.client's RemoteDisconnected
            conn.close()
            status, payload = None, None
        self.COUNTERS.count_outbound(target, status)
        return status, payload

    def get_order(self, m):
        item_id = int(m.group(1))
        sleep_ms(1)

        inventory = HTTPConnection(HOST, INVENTORY_PORT, timeout=5)
        try:
            status, stock = self.call("inventory", inventory, "GET", f"/stock/{item_id}")
        finally:
            inventory.close()  # new connection per call, on purpose
        if status == 404:
            return self.send_json(404, {"error": "no such item", "item": item_id})
        if status != 200 or stock is None:
            return self.send_json(503, {"error": "inventory unavailable"})
        if stock.get("available", 0) <= 0:
            self.record(item_id, 409)
            return self.send_json(409, {"error": "out of stock", "item": item_id})

        # The TLS hop: the price list is in EUR; rates answers over HTTPS.
        if self.rates_conn is None:
            self.rates_conn = HTTPSConnection(HOST, RATES_PORT, timeout=5, context=rates_tls_context())
        status, rate = self.call("rates", self.rates_conn, "GET", "/rates/EUR")
        if status != 200 or rate is None:
            self.rates_conn.close()
            self.rates_conn = None
            return self.send_json(503, {"error": "rates unavailable"})

        if self.payments_conn is None:
            self.payments_conn = HTTPConnection(HOST, PAYMENTS_PORT, timeout=5)
        amount = round((4.99 + (item_id % 17) * 1.25) * rate.get("rate", 1.0), 2)
        status, charge = self.call("payments", self.payments_conn, "POST", "/charge",
                                   {"item": item_id, "amount": amount})
        if status == 200:
            self.record(item_id, 200)
            return self.send_json(200, {"orderId": f"ord_{item_id:05d}", "item": item_id,
                                        "status": "paid", "charge": charge})
        if status == 402:
            self.record(item_id, 402)
            return self.send_json(402, {"error": "payment declined", "item": item_id})
        self.record(item_id, 502)
        self.send_json(502, {"error": "payment failed", "item": item_id})

    def record(self, item_id, status):
        """One INSERT per order whose outcome is known, counted under
        "postgres" (ok, or error when the database failed). Nothing, and
        nothing counted, when the runner started no PostgreSQL."""
        if not orders_db.enabled():
            return
        row_id = orders_db.record(item_id, status)
        self.COUNTERS.count_outbound("postgres", "ok" if row_id is not None else "error")

    def finish(self):
        for conn in (self.payments_conn, self.rates_conn):
            if conn is not None:
                conn.close()
        orders_db.close()
        super().finish()

    ROUTES = [("GET", re.compile(r"^/orders/(\d+)$"), "GET /orders/{id}", get_order)]


if __name__ == "__main__":
    serve("orders", PORT, OrdersHandler)
