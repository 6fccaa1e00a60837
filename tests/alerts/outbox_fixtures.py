"""Fixtures of the outbox, relay and sink tests: revision factory, stores on both backends, a
fake clock, a recording sink, a severable TCP proxy and a local Open311 server.

Test modules import the fixtures they use from here (``tests/alerts/conftest.py`` is shared).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from alerts.outbox.store import OutboxStore, open_store
from alerts.sinks.base import (
    DeliveryReceipt,
    OutboundMessage,
    SinkUnavailableError,
    TransientSinkError,
)
from tests.conftest import require_service

AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


def make_revision(
    subject: str, revision: int = 1, *, hazard: str = "deformation", level: int = 3, **extra: Any
) -> dict[str, Any]:
    """A revision dict with keys computed as DESIGN section 5 says (independent of the code)."""
    alert_key = hashlib.sha256(f"{hazard}|{subject}|2022-06-01".encode()).hexdigest()
    message_key = hashlib.sha256(f"{alert_key}|{revision}".encode()).hexdigest()
    msg_type = "Alert" if revision == 1 else "Update"
    rev = {
        "alert_key": alert_key, "revision": revision, "message_key": message_key,
        "hazard": hazard, "subject_id": subject, "level": level, "msg_type": msg_type,
        "event_start": "2022-06-01",
    }  # fmt: skip
    rev.update(extra)
    return rev


class FakeClock:
    """A clock the test moves by hand (POSIX seconds)."""

    def __init__(self, start: float = 1_650_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSink:
    """A consumer that records every raw delivery and de-duplicates by message_key."""

    def __init__(self, name: str = "files", fail_keys: set[str] | None = None) -> None:
        self.name = name
        self.raw: list[OutboundMessage] = []
        self.fail_keys = fail_keys or set()
        self.down = False

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        if self.down:
            raise SinkUnavailableError("test sink is down")
        if message.message_key in self.fail_keys:
            raise TransientSinkError("test sink refuses this key for now")
        self.raw.append(message)
        return DeliveryReceipt(self.name, message.message_key)

    @property
    def unique_keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for m in self.raw:
            seen.setdefault(m.message_key, None)
        return list(seen)

    def close(self) -> None:
        pass


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A PostgreSQL database of its own for this test session, dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    name = f"geospace_test_{uuid.uuid4().hex[:10]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def reset_pg(dsn: str) -> None:
    """Drop every table of the test database (a fresh, unmigrated schema)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Where to open a store: ``{"out_dir": ...}`` or ``{"dsn": ...}`` (fresh schema)."""
    if request.param == "sqlite":
        return {"out_dir": tmp_path / "out"}
    dsn = request.getfixturevalue("pg_dsn")
    reset_pg(dsn)
    return {"out_dir": None, "dsn": dsn}


@pytest.fixture
def store(backend: dict[str, Any], clock: FakeClock) -> Iterator[OutboxStore]:
    s = open_store(backend["out_dir"], dsn=backend.get("dsn"), clock=clock)
    yield s
    s.close()


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of a real service; it can sever and refuse connections."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.cuts = 0
        self.refused = 0
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                self.refused += 1
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
                for sock in (client, upstream):  # no Nagle: AMQP frames are small
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def sever(self) -> None:
        """Cut every open connection (the clients see their link drop)."""
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
                s.close()
        self.cuts += 1

    def close(self) -> None:
        self._closed = True
        self.sever()
        self.listener.close()


@pytest.fixture
def amqp_proxy() -> Iterator[TcpProxy]:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    proxy = TcpProxy(("127.0.0.1", 5672))
    yield proxy
    proxy.close()


@pytest.fixture
def rabbit_prefix() -> Iterator[str]:
    """A unique exchange/queue prefix; everything under it is deleted afterwards."""
    require_service("RabbitMQ", "127.0.0.1", 5672)
    prefix = f"test.{uuid.uuid4().hex[:8]}."
    yield prefix
    import pika

    from alerts.sinks.rabbitmq import RabbitMQSink

    sink = RabbitMQSink(AMQP, prefix=prefix)
    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = conn.channel()
    for q in sink.queues():
        ch.queue_delete(q)
    ch.exchange_delete(sink.exchange)
    ch.exchange_delete(sink.dead_letter_exchange)
    conn.close()


def drain_queue(url: str, queue: str, idle_s: float = 0.5) -> list[tuple[str, dict[str, Any]]]:
    """Every message now in ``queue`` as (message_id, body) in broker order, acknowledged."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=1000)
    out: list[tuple[str, dict[str, Any]]] = []
    for method, props, body in ch.consume(queue, inactivity_timeout=idle_s):
        if method is None:
            break
        out.append((props.message_id, json.loads(body)))
        ch.basic_ack(method.delivery_tag)
    ch.cancel()
    conn.close()
    return out


class Open311Server:
    """A local GeoReport v2 server; ``delay_s`` sleeps AFTER creating a ticket (timeout after send)."""

    def __init__(self) -> None:
        self.tickets: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, list[str]]] = []
        self.delay_s = 0.0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(raw)

            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                server.posts.append(form)
                if form.get("api_key") != ["k-secret"]:
                    self._send(403, [{"code": 403, "description": "bad api_key"}])
                    return
                rid = f"SR-{len(server.tickets) + 1}"
                attrs = {k[10:-1]: v[0] for k, v in form.items() if k.startswith("attribute[")}
                server.tickets[rid] = {"service_request_id": rid, "status": "open",
                                       "description": form["description"][0],
                                       "attributes": attrs}  # fmt: skip
                time.sleep(server.delay_s)
                self._send(201, [{"service_request_id": rid}])

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path.startswith("/requests/"):
                    rid = url.path.rsplit("/", 1)[1].removesuffix(".json")
                    self._send(200, [server.tickets[rid]] if rid in server.tickets else [])
                    return
                key = parse_qs(url.query).get("attribute[message_key]", [""])[0]
                hits = [
                    t for t in server.tickets.values() if t["attributes"].get("message_key") == key
                ]
                self._send(200, hits)

        return Handler

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def open311_server() -> Iterator[Open311Server]:
    server = Open311Server()
    yield server
    server.close()
