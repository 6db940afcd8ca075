"""MQTT telemetry and control, never on the trading path: publishing only enqueues, into a
bounded queue that drops the oldest first and counts it; one task keeps the broker connection
(reconnecting with backoff, the retained status re-published each time, a last will marking the
instance offline) and hands verified control messages to the daemon."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt

from arbiter.config import MqttSettings
from arbiter.control import ControlRejectedError, Verifier
from arbiter.feeds.backoff import Backoff
from arbiter.logging import get_logger

log = get_logger("arbiter.bus")
SCHEMA = 1
#: Per topic: (QoS, retained). Documented in docs/mqtt.md.
TOPICS = {
    "status": (1, True),
    "heartbeat": (0, False),
    "opportunities": (0, False),
    "decisions": (1, False),
    "fills": (1, False),
    "equity": (0, False),
    "spend": (0, False),
    "books": (0, False),
    "control/ack": (1, False),
}

URGENT = ("control/ack",)
STATE_TOPICS = ("status", "heartbeat", "books", "equity", "spend")

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class Bus:
    def __init__(self, settings: MqttSettings, instance: str, verifier: Verifier) -> None:
        self.settings = settings
        self.base = f"{settings.topic_prefix}/{instance}"
        self.instance = instance
        self.verifier = verifier
        #: Events (opportunities, decisions, fills): bounded, the oldest dropped first.
        self.queue: deque[tuple[str, bytes]] = deque()
        #: State topics (status, heartbeat, books, equity): only the latest of each is worth
        #: sending, so a newer one replaces the waiting one; they go first.
        self.latest: dict[str, bytes] = {}
        #: Control acknowledgements: go first, never dropped.
        self.urgent: deque[tuple[str, bytes]] = deque()
        self.dropped = 0
        self.connected = False
        self.status: dict[str, Any] = {"state": "online"}
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._last_error: str | None = None

    def payload(self, body: dict[str, Any]) -> bytes:
        return json.dumps(
            {"schema": SCHEMA, "instance": self.instance, "ts_ms": int(time.time() * 1000), **body},
            default=str,
        ).encode()

    def publish(self, topic: str, body: dict[str, Any]) -> None:
        """Queues a message; never blocks and never fails. When the event queue is full its
        oldest message is dropped, and counted."""
        if not self.settings.enabled:
            return
        if topic in URGENT:
            self.urgent.append((topic, self.payload(body)))
        elif topic in STATE_TOPICS:
            self.latest[topic] = self.payload(body)
        else:
            if len(self.queue) >= self.settings.queue_size:
                self.queue.popleft()
                self.dropped += 1
            self.queue.append((topic, self.payload(body)))
        self._drained.clear()
        self._wake.set()

    def set_status(self, **fields: Any) -> None:
        self.status.update(fields)
        self.publish("status", self.status)

    async def flush(self) -> None:
        """Waits until everything queued has reached the broker (callers bound the wait)."""
        await self._drained.wait()

    async def run(self, handle: Handler) -> None:
        backoff = Backoff(initial=1.0, maximum=30.0)
        will = aiomqtt.Will(f"{self.base}/status", self.payload({"state": "offline"}), 1, True)
        while True:
            try:
                async with connect(self.settings, f"arbiter-{self.instance}", will) as client:
                    self.connected, self._last_error = True, None
                    backoff.reset()
                    log.info("mqtt_connected", host=self.settings.host, port=self.settings.port)
                    await client.publish(f"{self.base}/status", self.payload(self.status), 1, True)
                    await client.subscribe(f"{self.base}/control/#", qos=1)
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(self._send(client), name="mqtt send")
                        tasks.create_task(self._receive(client, handle), name="mqtt receive")
            except* aiomqtt.MqttError as errors:
                self.connected = False
                reason = str(errors.exceptions[0])
                delay = backoff.next_delay()
                if reason != self._last_error:  # one line per kind of failure, not per retry
                    log.warning("mqtt_unavailable", reason=reason, retry_in=round(delay, 1))
                    self._last_error = reason
                await asyncio.sleep(delay)

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            while self.urgent or self.latest or self.queue:
                if self.urgent or not self.latest:
                    queue = self.urgent or self.queue
                    topic, payload = queue[0]
                    await self._publish(client, topic, payload)
                    queue.popleft()  # only once the broker has it
                else:
                    topic, payload = next(iter(self.latest.items()))
                    await self._publish(client, topic, payload)
                    if self.latest.get(topic) is payload:  # not replaced meanwhile
                        del self.latest[topic]
            self._drained.set()
            self._wake.clear()
            await self._wake.wait()

    async def _publish(self, client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        qos, retain = TOPICS.get(topic, (0, False))
        await client.publish(f"{self.base}/{topic}", payload, qos, retain)

    async def _receive(self, client: aiomqtt.Client, handle: Handler) -> None:
        prefix = f"{self.base}/control/"
        async for message in client.messages:
            command = str(message.topic).removeprefix(prefix)
            if command == "ack":
                continue
            try:
                verified = self.verifier.verify(command, bytes(message.payload))
            except ControlRejectedError as reason:
                log.warning("control_rejected", command=command, reason=str(reason))
                continue
            log.info("control_accepted", command=command, nonce=verified["nonce"])
            result = await handle(verified)
            self.publish("control/ack", {"nonce": verified["nonce"], "command": command, **result})


def connect(settings: MqttSettings, identifier: str, will: aiomqtt.Will | None) -> aiomqtt.Client:
    """A client for the configured broker: TLS and credentials as configured."""
    tls_context = None
    if settings.tls:
        cafile = str(settings.ca_file) if settings.ca_file else None
        tls_context = ssl.create_default_context(cafile=cafile)
        if settings.cert_file:
            tls_context.load_cert_chain(settings.cert_file, settings.key_file)
    password = settings.password.get_secret_value() if settings.password else None
    return aiomqtt.Client(
        settings.host,
        settings.port,
        username=settings.username,
        password=password,
        identifier=identifier,
        will=will,
        tls_context=tls_context,
        timeout=10,
    )
