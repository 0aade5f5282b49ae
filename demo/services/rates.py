"""rates (Python, HTTPS): GET /rates/<currency>, a leaf served over TLS so the
demo has an encrypted hop. The plaintext is captured by wiretrace's OpenSSL
uprobes on the system libssl (bpf/README.md, "TLS"); the spans carry
url.scheme=https and wiretrace.capture_source=tls.

TLS material: a self-signed certificate for 127.0.0.1 in $DEMO_TLS_DIR
(rates-cert.pem, rates-key.pem; default: $DEMO_STATE_DIR, else a temporary
directory), made with `openssl req` when missing. Callers verify against
rates-cert.pem. Unknown currencies -> 404. Named by SERVICE_NAME."""

import os
import re
import ssl
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep demo/services free of __pycache__
import common  # noqa: E402
from common import Handler, env_port, serve, sleep_ms  # noqa: E402

PORT = env_port("RATES_PORT", 18087)
RATES = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86, "CHF": 0.95, "JPY": 162.4}


def tls_files():
    d = os.environ.get("DEMO_TLS_DIR") or os.environ.get("DEMO_STATE_DIR") or tempfile.mkdtemp(prefix="rates-tls-")
    cert, key = os.path.join(d, "rates-cert.pem"), os.path.join(d, "rates-key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "30", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class TLSServer(common.ThreadingHTTPServer):
    """The demo's usual server with its listening socket wrapped in TLS. The
    handshake is left to the first read, in the connection's own thread, so a
    slow client cannot hold up accept()."""

    def server_bind(self):
        super().server_bind()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls_files())
        self.socket = ctx.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)


class RatesHandler(Handler):
    def rate(self, m):
        code = m.group(1).upper()
        sleep_ms(2)  # a lookup
        if code not in RATES:
            return self.send_json(404, {"error": "unknown currency", "currency": code})
        self.send_json(200, {"base": "EUR", "currency": code, "rate": RATES[code]})

    ROUTES = [("GET", re.compile(r"^/rates/([A-Za-z]{3})$"), "GET /rates/{currency}", rate)]


if __name__ == "__main__":
    # serve() builds common.ThreadingHTTPServer: point it at the TLS variant so
    # start-up, ground-truth counters and shutdown stay the demo's one path.
    common.ThreadingHTTPServer = TLSServer
    serve("rates", PORT, RatesHandler)
