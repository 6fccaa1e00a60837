"""Redis Streams sink: XADD of each message, at most once per ``message_key``.

A Lua script adds the key to a companion set and appends to the stream in one atomic step, so a
redelivery after a lost reply adds nothing. The URL comes from the environment by default.
"""

from __future__ import annotations

import os

import redis

from alerts.sinks.base import (
    DeliveryReceipt,
    OutboundMessage,
    SinkUnavailableError,
    TransientSinkError,
    redact,
)

_XADD_ONCE = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  return redis.call('XADD', KEYS[1], '*', 'message_key', ARGV[1], 'hazard', ARGV[2], 'body', ARGV[3])
end
return false
"""


class RedisStreamSink:
    """Append messages to a Redis stream.

    Parameters
    ----------
    stream : str
        Stream key; the de-duplication set is ``<stream>:keys``.
    url : str, optional
        ``redis://`` URL; default: the environment variable named by ``url_env``.
    url_env : str
        Environment variable holding the URL (read when connecting).
    name : str
        Sink name used in the outbox rows.
    """

    def __init__(
        self,
        stream: str = "geospace.alerts",
        *,
        url: str | None = None,
        url_env: str = "GEOSPACE_REDIS_URL",
        name: str = "redis",
        timeout_s: float = 5.0,
    ) -> None:
        self.stream = stream
        self._url = url
        self.url_env = url_env
        self.name = name
        self.timeout_s = timeout_s
        self._client: redis.Redis | None = None

    def _redis(self) -> redis.Redis:
        if self._client is None:
            url = self._url or os.environ.get(self.url_env, "")
            if not url:
                raise SinkUnavailableError(
                    f"no Redis URL: set the environment variable {self.url_env} (redis://host:6379/0)"
                )
            self._client = redis.Redis.from_url(
                url, socket_timeout=self.timeout_s, socket_connect_timeout=self.timeout_s
            )
        return self._client

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        """XADD the message unless its key was added before; return the stream entry id."""
        client = self._redis()
        try:
            entry = client.eval(  # type: ignore[no-untyped-call]
                _XADD_ONCE, 2, self.stream, f"{self.stream}:keys",
                message.message_key, message.hazard, message.to_json(),
            )  # fmt: skip
        except redis.ConnectionError as err:
            self.close()
            raise SinkUnavailableError(f"Redis unreachable: {redact(str(err))}") from err
        except redis.RedisError as err:
            raise TransientSinkError(f"Redis XADD to {self.stream} failed: {err}") from err
        if entry is None:
            return DeliveryReceipt(self.name, message.message_key, duplicate=True)
        entry_id = entry.decode() if isinstance(entry, bytes) else str(entry)
        return DeliveryReceipt(self.name, message.message_key, external_id=None, detail=entry_id)

    def close(self) -> None:
        """Drop the client (the next delivery reconnects)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()
