"""Replays recorded STAC API responses (golden files) on 127.0.0.1, rewriting the recorded base URL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.servers.http_base import FaultyHandler, ServerWithPlan


@dataclass(frozen=True)
class Route:
    """Answer ``method path`` with ``body_file`` when the request body contains ``body_has``."""

    method: str
    path: str
    body_file: Path
    body_has: str = ""


class ReplayHandler(FaultyHandler):
    """Serves ``settings["routes"]``; request bodies are kept in ``settings["bodies"]``."""

    def serve(self, method: str, *, truncate: bool) -> int:
        body = self._drain_body(method).decode()
        self.server.settings["bodies"].append((method, self.path, body))
        routes: list[Route] = self.server.settings["routes"]
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        for route in routes:
            if route.method == method and route.path == path and route.body_has in body:
                payload = route.body_file.read_bytes().replace(
                    self.server.settings["recorded_base"].encode(), self.server.base_url.encode()
                )
                return self._answer(200, payload)
        return self._answer(404, b'{"code": "NotFound"}')

    def _answer(self, status: int, payload: bytes) -> int:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        return status


def start_replay(routes: list[Route], recorded_base: str) -> ServerWithPlan:
    """Start a replay server; ``recorded_base`` (e.g. the real API root) is rewritten to it."""
    return ServerWithPlan(
        ReplayHandler, routes=routes, recorded_base=recorded_base.rstrip("/"), bodies=[]
    ).start()
