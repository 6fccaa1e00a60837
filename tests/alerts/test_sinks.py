"""Each sink against a real target on 127.0.0.1: files, webhook, RabbitMQ, Redis, Open311."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from alerts.outbox import admin
from alerts.outbox.relay import Backoff, run_relay
from alerts.outbox.store import OutboxStore, open_store
from alerts.sinks import build_sinks
from alerts.sinks.base import (
    OutboundMessage,
    PermanentSinkError,
    SinkUnavailableError,
    TransientSinkError,
    redact,
)
from alerts.sinks.files import FileSink
from alerts.sinks.open311 import Open311Sink, sync_status
from alerts.sinks.webhook import WebhookSink
from tests.alerts.outbox_fixtures import (
    Open311Server,
    drain_queue,
    make_revision,
)
from tests.conftest import require_service

AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


def _message(subject: str = "seg-1", revision: int = 1, **kw: Any) -> OutboundMessage:
    rev = make_revision(subject, revision, **kw)
    fields = {k: rev[k] for k in ("message_key", "alert_key", "revision", "hazard", "subject_id",
                                  "level", "msg_type")}  # fmt: skip
    return OutboundMessage(**fields, payload=rev)


def test_file_sink_appends_once_and_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts" / "outbound.jsonl"
    a, b = _message("a"), _message("b")
    assert not FileSink(path).deliver(a).duplicate
    assert FileSink(path).deliver(a).duplicate  # a fresh process sees the key in the file
    with open(path, "ab") as fh:
        fh.write(b'{"message_key": "torn')  # a crash mid-write
    sink = FileSink(path)
    sink.deliver(b)
    assert sink.deliver(b).duplicate
    lines = path.read_bytes().split(b"\n")
    keys = [json.loads(x)["message_key"] for x in lines if x.startswith(b'{"alert_key')]
    assert keys == [a.message_key, b.message_key]


class _Hook(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    answer = 200

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append((self.headers["Idempotency-Key"], body))
        self.send_response(type(self).answer)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def hook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"calls": [], "answer": 200})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", handler
    httpd.shutdown()
    httpd.server_close()


def test_webhook_posts_with_idempotency_key_and_classifies_errors(
    hook: tuple[str, type[_Hook]],
) -> None:
    url, handler = hook
    msg = _message()
    sink = WebhookSink(url, timeout_s=5)
    assert sink.deliver(msg).detail == "200"
    assert handler.calls == [(msg.message_key, msg.to_dict())]
    handler.answer = 503
    with pytest.raises(TransientSinkError):
        sink.deliver(msg)
    handler.answer = 400
    with pytest.raises(PermanentSinkError):
        sink.deliver(msg)
    sink.close()
    dead = WebhookSink("http://127.0.0.1:9/none", timeout_s=1)  # nothing listens on port 9
    with pytest.raises(SinkUnavailableError):
        dead.deliver(msg)


@pytest.mark.services
def test_rabbitmq_publishes_persistent_confirmed_messages(rabbit_prefix: str) -> None:
    import pika

    from alerts.sinks.rabbitmq import RabbitMQSink

    sink = RabbitMQSink(AMQP, prefix=rabbit_prefix)
    heat = _message("district-1", hazard="heat")
    work = _message("seg-7", hazard="deformation")
    for m in (heat, work):
        sink.deliver(m)
    sink.close()
    bulletins = drain_queue(AMQP, f"{rabbit_prefix}public_health.bulletins")
    orders = drain_queue(AMQP, f"{rabbit_prefix}maintenance.work_orders")
    assert [k for k, _ in bulletins] == [heat.message_key]
    assert [k for k, _ in orders] == [work.message_key]
    assert orders[0][1]["payload"]["subject_id"] == "seg-7"
    # The queue is durable and dead-letters a rejected message to the DLX queue.
    sink.deliver(work)
    sink.close()
    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = conn.channel()
    method, props, _ = ch.basic_get(f"{rabbit_prefix}maintenance.work_orders")
    assert props.delivery_mode == 2 and props.message_id == work.message_key
    ch.basic_reject(method.delivery_tag, requeue=False)
    conn.close()
    dead = drain_queue(AMQP, f"{rabbit_prefix}geospace.dead_letters")
    assert [k for k, _ in dead] == [work.message_key]


@pytest.mark.services
def test_redis_stream_adds_each_message_key_once() -> None:
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    stream = f"test.{uuid.uuid4().hex[:8]}.alerts"
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        sink = build_sinks({"redis": {"type": "redis", "stream": stream,
                                      "url": "redis://127.0.0.1:6379/0"}})["redis"]  # fmt: skip
        a = _message("a")
        assert not sink.deliver(a).duplicate
        assert sink.deliver(a).duplicate
        sink.deliver(_message("a", 2))
        entries = client.xrange(stream)
        keys = [e[1][b"message_key"].decode() for e in entries]
        assert keys == [a.message_key, _message("a", 2).message_key]
        sink.close()
    finally:
        client.delete(stream, f"{stream}:keys")
        client.close()


def test_redact_hides_credentials() -> None:
    text = "amqp://guest:s3cret@host:5672/ and https://x/requests.json?api_key=abc123&x=1"
    out = redact(text, ("zzz",))
    assert "s3cret" not in out and "abc123" not in out and "guest:***@host" in out


@pytest.fixture
def open311_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPEN311_API_KEY", "k-secret")
    monkeypatch.setenv("OPEN311_JURISDICTION_ID", "wien.gv.at")


def test_open311_posts_form_with_credentials_from_environment(
    open311_server: Open311Server, open311_env: None
) -> None:
    msg = _message("seg-3", payload_extra=1)
    msg = OutboundMessage(**{**msg.__dict__, "payload": {"open311": {
        "service_code": "deformation", "lat": "48.2", "long": "16.37",
        "description": "Settlement on U6 segment 3"}}})  # fmt: skip
    receipt = Open311Sink(open311_server.url, timeout_s=5).deliver(msg)
    assert receipt.external_id == "SR-1"
    form = open311_server.posts[0]
    assert form["api_key"] == ["k-secret"] and form["jurisdiction_id"] == ["wien.gv.at"]
    assert form["attribute[message_key]"] == [msg.message_key]
    assert form["service_code"] == ["deformation"] and form["lat"] == ["48.2"]


def test_open311_refusal_does_not_leak_the_api_key(
    open311_server: Open311Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPEN311_API_KEY", "wrong-key-123")
    with pytest.raises(PermanentSinkError) as info:
        Open311Sink(open311_server.url, timeout_s=5).deliver(_message())
    assert "wrong-key-123" not in str(info.value)


def test_open311_timeout_after_send_creates_no_second_ticket(
    open311_server: Open311Server, open311_env: None, tmp_path: Path
) -> None:
    store = open_store(tmp_path)
    store.add_revision(make_revision("seg-5"), sinks=["open311"])
    sink = Open311Sink(open311_server.url, timeout_s=0.3)
    open311_server.delay_s = 1.0  # the server creates the ticket, then answers too late
    fast = Backoff(0.0, 0.0)
    first = run_relay(store, {"open311": sink}, lease_s=5, max_attempts=5, once=True, backoff=fast,
                      batch=1)  # fmt: skip
    assert first.sent == 1 and first.retried >= 1
    assert len(open311_server.tickets) == 1 and len(open311_server.posts) == 1
    rev = admin.get_revision(store, 1)
    assert json.loads(rev["deliveries"][0]["receipt"])["external_id"] == "SR-1"
    # The crew closes the ticket: the status sync closes the event.
    open311_server.tickets["SR-1"]["status"] = "closed"
    assert sync_status(store, sink) == [make_revision("seg-5")["alert_key"]]
    assert store.event(make_revision("seg-5")["alert_key"])["status"] == "closed"  # type: ignore[index]
    assert sync_status(store, sink) == []
    store.close()


def test_files_sink_through_the_relay(tmp_path: Path) -> None:
    store: OutboxStore = open_store(tmp_path)
    store.add_revisions([make_revision("a", 1), make_revision("a", 2)])
    from alerts.outbox.commands import deliver

    report = deliver(tmp_path)
    assert report["sent"] == 2 and report["health"]["queue_depth"] == 0
    lines = (tmp_path / "alerts" / "outbound.jsonl").read_text().splitlines()
    assert [json.loads(x)["revision"] for x in lines] == [1, 2]
    store.close()
