"""A static file server with HTTP Range support (http.server has none) and fault injection."""

from __future__ import annotations

import re
from pathlib import Path

from tests.servers.http_base import FaultyHandler, ServerWithPlan

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeHandler(FaultyHandler):
    """Serves files under ``server.settings["root"]``; one ``bytes=a-b`` range -> 206."""

    def serve(self, method: str, *, truncate: bool) -> int:
        if method == "POST":
            return self._plain(405, b"read-only")
        root: Path = self.server.settings["root"]
        path = (root / self.path.split("?", 1)[0].lstrip("/")).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            return self._plain(404, b"not found")
        data = path.read_bytes()
        status, body, extra = self._select(data)
        if status == 416:
            return self._plain(416, b"bad range", extra)
        self.send_response(status)
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        for key, value in extra.items():
            self.send_header(key, value)
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if method == "GET":
            self.wfile.write(body[: min(len(body) // 4, 64)] if truncate else body)
        return status

    def _select(self, data: bytes) -> tuple[int, bytes, dict[str, str]]:
        header = self.headers.get("Range")
        size = len(data)
        match = _RANGE_RE.match(header or "") if header else None
        if match is None:  # no Range, or multi-range: the whole file is a valid answer
            return 200, data, {}
        first, last = match.groups()
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        if start >= size or start > end:
            return 416, b"", {"Content-Range": f"bytes */{size}"}
        return 206, data[start : end + 1], {"Content-Range": f"bytes {start}-{end}/{size}"}

    def _plain(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> int:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status


def start_range_server(root: Path) -> ServerWithPlan:
    """Start a Range-capable file server for ``root`` on 127.0.0.1 (free port)."""
    return ServerWithPlan(RangeHandler, root=root).start()
