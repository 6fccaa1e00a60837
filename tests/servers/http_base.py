"""A threaded 127.0.0.1 HTTP server whose handlers apply a :class:`FaultPlan` first."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from tests.servers.faults import Fault, FaultPlan


class FaultyHandler(BaseHTTPRequestHandler):
    """Base handler: ``self.server.plan`` decides faults; subclasses implement ``serve``."""

    protocol_version = "HTTP/1.1"
    server: ServerWithPlan
    methods: ClassVar[tuple[str, ...]] = ("GET", "HEAD", "POST")

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        fault = self.server.plan.take(method, self.path, self._range_start())
        if fault is not None and fault.kind == "status":
            self._fault_status(method, fault)
            return
        stopped = fault is not None and fault.kind == "delay"
        if stopped and self.server.plan.stopping.wait(fault.delay_s):  # type: ignore[union-attr]
            return
        self.serve(method, truncate=fault is not None and fault.kind == "truncate")

    def send_response(self, code: int, message: str | None = None) -> None:
        # Logged when the status line is sent, before the body: a client that has read the
        # answer always finds it in the log (recording after the write raced the test thread).
        self.server.plan.record(self.command, self.path, code)
        super().send_response(code, message)

    def _range_start(self) -> int | None:
        value = self.headers.get("Range", "")
        if not value.startswith("bytes="):
            return None
        first = value[len("bytes=") :].split("-", 1)[0]
        return int(first) if first.isdigit() else None

    def _fault_status(self, method: str, fault: Fault) -> None:
        body = f'{{"code": "injected", "description": "injected {fault.status}"}}'.encode()
        self._drain_body(method)
        self.send_response(fault.status)
        if fault.retry_after is not None:
            self.send_header("Retry-After", str(fault.retry_after))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _drain_body(self, method: str) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if method == "POST" and length else b""

    def serve(self, method: str, *, truncate: bool) -> int:
        """Answer the request normally (or truncated); return the status sent."""
        raise NotImplementedError


class ServerWithPlan(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying a fault plan and arbitrary settings of its handler."""

    daemon_threads = True

    def __init__(self, handler: type[FaultyHandler], **settings: Any) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.plan = FaultPlan()
        self.settings = settings
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ServerWithPlan:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.plan.stopping.set()
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
