"""orders (Python): GET /orders/{id}
    -> inventory GET /stock/{id}   a new connection for every call
    -> payments  POST /charge      one kept-alive connection per handler thread
Propagates W3C trace context: same trace id, a new span id per outbound call.
Statuses: out of stock 409, declined 402, payment failure 502.
Named by OTEL_SERVICE_NAME (set by the runner)."""

import json
import re
import sys
from http.client import HTTPConnection

sys.dont_write_bytecode = True  # keep demo/services free of __pycache__
from common import HOST, Handler, child_headers, env_port, read_json, serve, sleep_ms  # noqa: E402

PORT = env_port("ORDERS_PORT", 18081)
INVENTORY_PORT = env_port("INVENTORY_PORT", 18082)
PAYMENTS_PORT = env_port("PAYMENTS_PORT", 18083)


class OrdersHandler(Handler):
    # ThreadingHTTPServer runs one thread per inbound connection; each keeps
    # its own connection to payments, closed when the inbound one closes.
    payments_conn = None

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
            return self.send_json(409, {"error": "out of stock", "item": item_id})

        if self.payments_conn is None:
            self.payments_conn = HTTPConnection(HOST, PAYMENTS_PORT, timeout=5)
        amount = round(4.99 + (item_id % 17) * 1.25, 2)
        status, charge = self.call("payments", self.payments_conn, "POST", "/charge",
                                   {"item": item_id, "amount": amount})
        if status == 200:
            return self.send_json(200, {"orderId": f"ord_{item_id:05d}", "item": item_id,
                                        "status": "paid", "charge": charge})
        if status == 402:
            return self.send_json(402, {"error": "payment declined", "item": item_id})
        self.send_json(502, {"error": "payment failed", "item": item_id})

    def finish(self):
        if self.payments_conn is not None:
            self.payments_conn.close()
        super().finish()

    ROUTES = [("GET", re.compile(r"^/orders/(\d+)$"), "GET /orders/{id}", get_order)]


if __name__ == "__main__":
    serve("orders", PORT, OrdersHandler)
