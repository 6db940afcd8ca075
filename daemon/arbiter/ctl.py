"""`arbiter ctl`: sign a control command, publish it, and wait for the daemon's acknowledgement,
so operators never hand-craft signatures."""

from __future__ import annotations

import asyncio
import json
import sys

import aiomqtt

from arbiter.bus import connect
from arbiter.config import Settings
from arbiter.control import sign

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def send(settings: Settings, command: str, args: dict[str, object], timeout: float) -> int:
    secret = settings.mqtt.control_secret
    if secret is None:
        print("arbiter: mqtt.control_secret is not configured", file=sys.stderr)
        return EXIT_USAGE
    message = sign(command, args, secret.get_secret_value())
    try:
        ack = asyncio.run(asyncio.wait_for(_exchange(settings, command, message), timeout))
    except (aiomqtt.MqttError, TimeoutError) as error:
        reason = str(error) or f"no acknowledgement within {timeout:.0f}s"
        print(f"arbiter: {command} not acknowledged: {reason}", file=sys.stderr)
        return EXIT_FAILURE
    print(json.dumps(ack))
    return EXIT_OK if ack.get("ok") else EXIT_FAILURE


async def _exchange(
    settings: Settings, command: str, message: dict[str, object]
) -> dict[str, object]:
    base = f"{settings.mqtt.topic_prefix}/{settings.instance}"
    async with connect(settings.mqtt, f"arbiter-{settings.instance}-ctl", None) as client:
        await client.subscribe(f"{base}/control/ack", qos=1)
        await client.publish(f"{base}/control/{command}", json.dumps(message), qos=1)
        async for reply in client.messages:
            ack: dict[str, object] = json.loads(bytes(reply.payload))
            if ack.get("nonce") == message["nonce"]:
                return ack
    raise TimeoutError
