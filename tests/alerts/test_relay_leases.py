"""Relay leases (issue 15): settings that cannot work are refused; a slow consumer never gets a
message twice from two relays, because the lease is kept alive while a delivery is in flight."""

from __future__ import annotations

import collections
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from alerts.outbox.__main__ import main as relay_main
from alerts.outbox.relay import Backoff, run_relay
from alerts.outbox.store import open_store
from alerts.sinks.webhook import WebhookSink
from core.errors import InvalidInputError
from tests.alerts.outbox_fixtures import make_revision


class _Counting(BaseHTTPRequestHandler):
    """A non-deduplicating consumer: counts every POST per Idempotency-Key, answers slowly."""

    delay_s = 0.0
    posts: ClassVar[collections.Counter[str]] = collections.Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.lock:
            self.posts[self.headers["Idempotency-Key"]] += 1
        time.sleep(self.delay_s)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def slow_webhook() -> object:
    handler = type("Handler", (_Counting,), {"posts": collections.Counter(), "delay_s": 0.4})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"lease_s": 0.0}, "--lease: 0: a lease must be at least"),
        ({"lease_s": -5.0}, "--lease: -5"),
        ({"lease_s": float("inf")}, "--lease: inf"),
        ({"lease_s": 30.0, "batch": 0}, "--batch: 0: must be 1 or more"),
        ({"lease_s": 30.0, "max_attempts": 0}, "--max-attempts: 0: must be 1 or more"),
        ({"backoff": Backoff(float("nan"), 300.0)}, "--backoff: nan"),
        ({"backoff": Backoff(-1.0, 300.0)}, "--backoff: -1"),
        ({"backoff": Backoff(10.0, 5.0)}, "--backoff-cap: 5: must be finite and at least 10 s"),
        ({"poll_s": 0.0}, "--poll: 0: must be a positive"),
        ({"poll_s": -1.0}, "--poll: -1"),
        ({"retention_s": -1.0}, "--retention: -1"),
        ({"retention_s": float("nan")}, "--retention: nan"),
    ],
)
def test_relay_settings_that_cannot_work_are_refused(
    tmp_path: Path, kwargs: dict[str, float], needle: str
) -> None:
    store = open_store(tmp_path)
    with pytest.raises(InvalidInputError, match=needle):
        run_relay(store, {}, once=True, **kwargs)  # type: ignore[arg-type]
    store.close()


def test_relay_process_refuses_a_zero_lease_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert relay_main(["--out", str(tmp_path), "--lease", "0", "--once"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("relay: error: --lease: 0:") and err.count("\n") == 1
    assert relay_main(["--out", str(tmp_path), "--sinks", "{not json", "--once"]) == 2
    assert "relay: error: --sinks:" in capsys.readouterr().err


def test_relay_process_refuses_a_folder_without_an_outbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "outt"
    assert relay_main(["--out", str(typo), "--once"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("relay: error: outbox:") and "never held a run" in err, err
    assert err.count("\n") == 1 and not typo.exists(), "no fresh empty outbox is created"
    assert relay_main(["--out", str(tmp_path), "--poll", "0", "--once"]) == 2
    assert capsys.readouterr().err.startswith("relay: error: --poll: 0:")
    with pytest.raises(SystemExit) as stopped:
        relay_main(["--out", str(tmp_path), "--lease", "abc"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("relay: error: argument --lease") and err.count("\n") == 1, err


def test_two_relays_with_a_lease_shorter_than_a_delivery_never_post_twice(
    tmp_path: Path, slow_webhook: tuple[ThreadingHTTPServer, type[_Counting]]
) -> None:
    server, handler = slow_webhook
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    store = open_store(tmp_path)
    n = 12
    store.add_revisions([make_revision(f"seg-{i}") for i in range(n)], sinks=["webhook"])
    store.close()
    results: list[object] = []

    def relay() -> None:
        own = open_store(tmp_path)
        try:
            # each POST takes 0.4 s, longer than the 0.5 s lease is after a few of them
            stats = run_relay(
                own, {"webhook": WebhookSink(url, timeout_s=5)}, lease_s=0.5, batch=n,
                once=True, backoff=Backoff(0.0, 0.0), max_attempts=5,
            )  # fmt: skip
            results.append(stats)
        finally:
            own.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 2
    assert len(handler.posts) == n, "every message delivered"
    assert set(handler.posts.values()) == {1}, f"a message was POSTed twice: {handler.posts}"
    check = open_store(tmp_path)
    sent = check.db.query("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'")[0]["n"]
    check.close()
    assert sent == n


def test_relay_refuses_plain_http_to_another_host(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sinks = '{"webhook": {"type": "webhook", "url": "http://alerts.example.org/hook"}}'
    assert relay_main(["--out", str(tmp_path), "--sinks", sinks, "--once"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("relay: error: sinks.webhook.url:") and "plain http" in err
    assert not (tmp_path / "alerts").exists(), "refused before the outbox is opened"
