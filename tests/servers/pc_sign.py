"""A Planetary Computer-style SAS sign endpoint plus a blob store that demands its tokens.

``GET /api/sas/v1/token/<account>/<container>`` answers ``{"msft:expiry": ..., "token": ...}`` like
the real API (token = ``st=..&se=..&sp=rl&sv=..&sr=c&skoid=..&sig=..``), each valid for
``lifetime_s`` (60 s) of the server's clock. Blobs are served path-style (Azurite layout) from
``root`` at ``/<account>/<container>/<path>`` with Range support, and only with a token issued
here and not expired: otherwise 403 with Azure's ``AuthenticationFailed`` XML body. The clock is
shared with the test's signer; ``advance_per_blob_s`` moves it on with every blob answered, so
a read of many blocks outlives several tokens.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.servers.http_base import ServerWithPlan
from tests.servers.range_server import RangeHandler

SIGN_PREFIX = "/api/sas/v1/token/"


@dataclass
class Clock:
    """Epoch seconds that tests (and the server) move on explicitly; thread-safe."""

    now: float = 1_780_000_000.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@dataclass
class SignState:
    clock: Clock
    lifetime_s: float = 60.0
    advance_per_blob_s: float = 0.0
    issued: dict[str, float] = field(default_factory=dict)  # sig -> expiry
    denied: int = 0
    token_requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, account: str, container: str) -> dict[str, str]:
        with self.lock:
            self.token_requests += 1
            expiry = self.clock() + self.lifetime_s
            sig = secrets.token_urlsafe(24)
            self.issued[sig] = expiry
        stamp = datetime.fromtimestamp(expiry, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        token = (
            f"st={stamp}&se={stamp}&sp=rl&sv=2024-05-04&sr=c&skoid={account}-{container}&sig={sig}"
        )
        return {"msft:expiry": stamp, "token": token}

    def revoke_all(self) -> None:
        with self.lock:
            self.issued.clear()

    def allowed(self, query: str) -> bool:
        sig = (parse_qs(query).get("sig") or [""])[0]
        with self.lock:
            expiry = self.issued.get(sig)
            ok = expiry is not None and self.clock() < expiry
            if not ok:
                self.denied += 1
            return ok


class SignBlobHandler(RangeHandler):
    def serve(self, method: str, *, truncate: bool) -> int:
        state: SignState = self.server.settings["state"]
        parts = urlsplit(self.path)
        if parts.path.startswith(SIGN_PREFIX):
            segments = parts.path[len(SIGN_PREFIX) :].strip("/").split("/")
            if len(segments) != 2:
                return self._plain(404, b"not found")
            body = json.dumps(state.issue(*segments)).encode()
            if truncate:
                body = body[: len(body) // 3]
            return self._json(200, body)
        if not state.allowed(parts.query):
            body = (
                b'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
                b"<Message>Server failed to authenticate the request.</Message></Error>"
            )
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)
            return 403
        status = super().serve(method, truncate=truncate)
        state.clock.advance(state.advance_per_blob_s)
        return status

    def _json(self, status: int, body: bytes) -> int:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return status


def start_sign_server(root: Path, state: SignState) -> ServerWithPlan:
    """Start the sign endpoint + blob store for ``root`` on 127.0.0.1 (free port)."""
    return ServerWithPlan(SignBlobHandler, root=root, state=state).start()
