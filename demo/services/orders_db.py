"""Order records for the demo's orders service, in PostgreSQL (see
demo/databases.mjs, which starts the server and creates the table).

Uses psycopg 3 (Debian: python3-psycopg). Statements are sent with
parameters, so psycopg uses the extended protocol (Parse/Bind/Execute) and
the agent's spans show `INSERT INTO orders (item, status) VALUES ($1, $2)`;
connecting sends only the startup and authentication messages (no query), so
the agent sees exactly one statement per record().
One connection per handler thread, like the payments connection. When
DEMO_PG_PORT is unset or psycopg is missing, record() does nothing and the
service works as before.

orders.py calls `record(item, status)` once per order whose outcome is known
(see demo/DATABASES.md), and `close()` when its handler thread ends."""

import os
import threading

try:
    import psycopg
except ImportError:  # the demo must run without it
    psycopg = None

_PORT = os.environ.get("DEMO_PG_PORT")
_local = threading.local()


def enabled():
    return psycopg is not None and bool(_PORT)


def _connection():
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        # autocommit: no BEGIN/COMMIT around the INSERT. prepare_threshold=None:
        # by default psycopg prepares a statement after its 5th execution on a
        # connection (an extra Parse round trip, a "PREPARE" span), so the
        # number of statements would depend on how many connections orders
        # opened. Without it, each record() is exactly one extended-protocol
        # exchange (Parse/Bind/Describe/Execute/Sync): one INSERT span.
        conn = psycopg.connect(host="127.0.0.1", port=int(_PORT), user="postgres", dbname="shop", autocommit=True,
                               connect_timeout=2, prepare_threshold=None)
        _local.conn = conn
    return conn


def close():
    """Closes this thread's connection (the handler thread is about to end)."""
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        conn.close()


def record(item, status):
    """Inserts one order row; returns its id, or None when disabled or the database is down."""
    if not enabled():
        return None
    try:
        row = _connection().execute("INSERT INTO orders (item, status) VALUES (%s, %s) RETURNING id", (item, status)).fetchone()
        return row[0] if row else None
    except psycopg.Error:
        _local.conn = None
        return None
