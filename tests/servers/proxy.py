"""A fault-injecting reverse proxy: forwards to an upstream 127.0.0.1 server, rewriting its URLs.

The upstream's absolute links (``next`` pages, the ``search`` link) are rewritten to the proxy's own
base URL, so every request of a client that started at the proxy passes through the faults.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from tests.servers.http_base import FaultyHandler, ServerWithPlan

_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class ProxyHandler(FaultyHandler):
    """Forwards GET/HEAD/POST to ``server.settings["upstream"]``."""

    def serve(self, method: str, *, truncate: bool) -> int:
        upstream: str = self.server.settings["upstream"]
        body = self._drain_body(method)
        parts = urlsplit(upstream)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        try:
            conn.request(method, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            status = response.status
            answer_headers = [
                (k, v) for k, v in response.getheaders() if k.lower() not in _HOP_HEADERS
            ]
        finally:
            conn.close()
        payload = payload.replace(upstream.encode(), self.server.base_url.encode())
        self.send_response(status)
        for key, value in answer_headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload[:64] if truncate else payload)
        return status


def start_proxy(upstream: str) -> ServerWithPlan:
    """Start a fault-injecting proxy in front of ``upstream`` (``http://127.0.0.1:port``)."""
    return ServerWithPlan(ProxyHandler, upstream=upstream.rstrip("/")).start()
