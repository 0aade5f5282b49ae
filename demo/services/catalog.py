"""catalog (Python): the product catalog, a leaf.
    GET /items/{id}       one item; ids ending in 9 do not exist (404)
    GET /items?page=P     five items per page
Started with no name variable at all: the agent has to derive the name
"catalog" from the command line (python3 .../catalog.py)."""

import re
import sys
from urllib.parse import parse_qs, urlsplit

sys.dont_write_bytecode = True  # keep demo/services free of __pycache__
from common import Handler, env_port, serve, sleep_ms  # noqa: E402

PORT = env_port("CATALOG_PORT", 18084)
PAGE_SIZE = 5


def item(item_id):
    return {"id": item_id, "sku": f"SKU-{item_id:05d}", "name": f"Item {item_id}",
            "price": round(4.99 + (item_id % 17) * 1.25, 2)}


class CatalogHandler(Handler):
    def get_item(self, m):
        item_id = int(m.group(1))
        sleep_ms(1 + item_id % 5)  # a small, deterministic "database" delay
        if item_id % 10 == 9:
            return self.send_json(404, {"error": "no such item", "id": item_id})
        self.send_json(200, item(item_id))

    def list_items(self, m):
        page = parse_qs(urlsplit(self.path).query).get("page", ["1"])[0]
        page = max(1, int(page)) if page.isdigit() else 1
        sleep_ms(3)
        first = (page - 1) * PAGE_SIZE + 1
        ids = [i for i in range(first, first + PAGE_SIZE) if i % 10 != 9]
        self.send_json(200, {"page": page, "items": [item(i) for i in ids]})

    ROUTES = [
        ("GET", re.compile(r"^/items/(\d+)$"), "GET /items/{id}", get_item),
        ("GET", re.compile(r"^/items$"), "GET /items", list_items),
    ]


if __name__ == "__main__":
    serve("catalog", PORT, CatalogHandler)
