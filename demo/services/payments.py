"""payments (Python): POST /charge, a leaf. Reads the W3C context it is sent
but calls nothing further. Deterministic failures by item id:
    ending in 5 -> 402 card declined;  ending in 7 -> 500 processor unavailable.
Named by SERVICE_NAME (set by the runner)."""

import re
import sys

sys.dont_write_bytecode = True  # keep demo/services free of __pycache__
from common import Handler, env_port, serve, sleep_ms  # noqa: E402

PORT = env_port("PAYMENTS_PORT", 18083)


class PaymentsHandler(Handler):
    def charge(self, m):
        body = self.read_body_json() or {}
        item_id = body.get("item")
        if not isinstance(item_id, int):
            return self.send_json(400, {"error": "item is required"})
        sleep_ms(5 + item_id % 10)  # talking to the card processor
        if item_id % 10 == 7:
            return self.send_json(500, {"error": "processor unavailable"})
        if item_id % 10 == 5:
            return self.send_json(402, {"error": "card declined", "item": item_id})
        self.send_json(200, {"chargeId": f"ch_{item_id:05d}", "amount": body.get("amount"),
                             "currency": "EUR"})

    ROUTES = [("POST", re.compile(r"^/charge$"), "POST /charge", charge)]


if __name__ == "__main__":
    serve("payments", PORT, PaymentsHandler)
