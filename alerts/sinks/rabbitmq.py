"""RabbitMQ sink (pika): persistent messages with publisher confirms and a dead-letter exchange.

Topology (declared on connect, all durable): a direct exchange ``<prefix>geospace.alerts`` bound
to the queues ``<prefix>maintenance.work_orders`` and ``<prefix>public_health.bulletins``; each
queue dead-letters to the fanout exchange ``<prefix>geospace.dlx`` whose queue is
``<prefix>geospace.dead_letters``. Each message is published ``mandatory`` and persistent
(``delivery_mode=2``) with ``message_id = message_key``; it counts as delivered only when the
broker confirmed it. The broker URL (with credentials) comes from the environment by default.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

import pika
import pika.exceptions

from alerts.sinks.base import (
    DeliveryReceipt,
    OutboundMessage,
    SinkUnavailableError,
    TransientSinkError,
    redact,
)

WORK_ORDERS = "maintenance.work_orders"
BULLETINS = "public_health.bulletins"
DEFAULT_ROUTES: Mapping[str, str] = {"heat": BULLETINS, "deformation": WORK_ORDERS}


class RabbitMQSink:
    """Publish messages to RabbitMQ queues chosen by hazard.

    Parameters
    ----------
    url : str, optional
        AMQP URL; default: the environment variable named by ``url_env``.
    url_env : str
        Environment variable holding the AMQP URL (read when connecting).
    routes : mapping of str to str
        Hazard -> queue (without prefix); other hazards go to ``default_queue``.
    default_queue : str
        Queue for hazards without a route.
    prefix : str
        Prepended to every exchange and queue name (tests use a unique one).
    name : str
        Sink name used in the outbox rows.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        url_env: str = "GEOSPACE_AMQP_URL",
        routes: Mapping[str, str] = DEFAULT_ROUTES,
        default_queue: str = WORK_ORDERS,
        prefix: str = "",
        name: str = "rabbitmq",
        timeout_s: float = 10.0,
    ) -> None:
        self._url = url
        self.url_env = url_env
        self.routes = dict(routes)
        self.default_queue = default_queue
        self.prefix = prefix
        self.name = name
        self.timeout_s = timeout_s
        self._conn: pika.BlockingConnection | None = None
        self._channel: pika.adapters.blocking_connection.BlockingChannel | None = None

    @property
    def exchange(self) -> str:
        """The direct exchange messages are published to."""
        return f"{self.prefix}geospace.alerts"

    @property
    def dead_letter_exchange(self) -> str:
        """The fanout exchange rejected or expired messages are dead-lettered to."""
        return f"{self.prefix}geospace.dlx"

    def queues(self) -> list[str]:
        """Every queue this sink declares (prefixed), dead-letter queue last."""
        names = sorted({*self.routes.values(), self.default_queue})
        return [self.prefix + q for q in names] + [f"{self.prefix}geospace.dead_letters"]

    def queue_for(self, hazard: str) -> str:
        """The prefixed queue a hazard's messages go to."""
        return self.prefix + self.routes.get(hazard, self.default_queue)

    def _url_value(self) -> str:
        url = self._url or os.environ.get(self.url_env, "")
        if not url:
            raise SinkUnavailableError(
                f"no RabbitMQ URL: set the environment variable {self.url_env} "
                "(amqp://user:password@host:5672/vhost)"
            )
        return url

    def _connect(self) -> pika.adapters.blocking_connection.BlockingChannel:
        if self._channel is not None and self._channel.is_open and self._conn is not None:
            try:
                self._conn.process_data_events(0)  # service heartbeats, notice a dead link
                return self._channel
            except pika.exceptions.AMQPError:
                self.close()
        url = self._url_value()
        params = pika.URLParameters(url)
        params.socket_timeout = self.timeout_s
        params.blocked_connection_timeout = self.timeout_s
        params.connection_attempts = 1
        try:
            self._conn = pika.BlockingConnection(params)
            channel = self._conn.channel()
            channel.confirm_delivery()
            self._declare(channel)
        except (pika.exceptions.AMQPError, OSError) as err:
            self.close()
            raise SinkUnavailableError(
                f"RabbitMQ at {redact(url)} unreachable: {redact(repr(err), (url,))}"
            ) from err
        self._channel = channel
        return channel

    def _declare(self, channel: pika.adapters.blocking_connection.BlockingChannel) -> None:
        channel.exchange_declare(self.exchange, exchange_type="direct", durable=True)
        channel.exchange_declare(self.dead_letter_exchange, exchange_type="fanout", durable=True)
        *main, dead = self.queues()
        channel.queue_declare(dead, durable=True)
        channel.queue_bind(dead, self.dead_letter_exchange)
        for queue in main:
            args = {"x-dead-letter-exchange": self.dead_letter_exchange}
            channel.queue_declare(queue, durable=True, arguments=args)
            channel.queue_bind(queue, self.exchange, routing_key=queue)

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        """Publish persistently and wait for the broker's confirm."""
        channel = self._connect()
        queue = self.queue_for(message.hazard)
        props = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=message.message_key,
            headers={"alert_key": message.alert_key, "revision": message.revision,
                     "msg_type": message.msg_type},
        )  # fmt: skip
        try:
            channel.basic_publish(
                self.exchange, queue, message.to_json().encode(), props, mandatory=True
            )
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as err:
            raise TransientSinkError(f"RabbitMQ did not confirm {queue}: {err!r}") from err
        except (pika.exceptions.AMQPError, OSError) as err:
            self.close()
            raise TransientSinkError(
                f"RabbitMQ connection lost while publishing to {queue}: {type(err).__name__}"
            ) from err
        return DeliveryReceipt(self.name, message.message_key, detail=queue)

    def close(self) -> None:
        """Close the connection (the next delivery reconnects)."""
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None and conn.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                conn.close()
