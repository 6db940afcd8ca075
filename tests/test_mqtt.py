"""MQTT telemetry and signed remote control against a real Mosquitto (started per test on a
free port), with the emulator and the daemon as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from arbiter.control import sign
from tests.conftest import ROOT
from tests.harness import SPOT, TRADING, USDM, Daemon, daemon, daemon_config, emulator, wait_for
from tests.mqtt_broker import Broker, plain_broker, tls_broker

SECRET = "control-secret-for-tests"
BASE = "arbiter/test"


class Listener:
    """Subscribes to arbiter/test/# from a thread and keeps every message (topic, payload)."""

    def __init__(
        self, port: int, tls: ssl.SSLContext | None = None, user: tuple[str, str] | None = None
    ) -> None:
        self.port, self.tls, self.user = port, tls, user
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.port,
                    tls_context=self.tls,
                    username=self.user[0] if self.user else None,
                    password=self.user[1] if self.user else None,
                ) as client:
                    await client.subscribe(f"{BASE}/#", qos=1)
                    async for message in client.messages:
                        payload = json.loads(bytes(message.payload))
                        self.messages.append((str(message.topic).removeprefix(BASE + "/"), payload))
                        if self._stop.is_set():
                            return
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [payload for name, payload in self.messages if name == topic]

    def close(self) -> None:
        self._stop.set()


def mqtt_toml(port: int, extra: str = "") -> str:
    # Plenty of BTC on both venues, so that trading does not run out of inventory mid-test.
    return (
        TRADING.replace('BTC = "0.1"', 'BTC = "5"')
        .replace('USDT = "5000"', 'USDT = "500000"')
        .replace('max_position = "100000"', 'max_position = "10000000"')
        + f"""
[mqtt]
enabled = true
host = "127.0.0.1"
port = {port}
heartbeat_interval = 0.5
books_interval = 1.0
{extra}
[mqtt.risk_bounds]
max_order_notional = ["10", "500"]
"""
    )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    (tmp_path / "broker").mkdir()
    running = plain_broker(tmp_path / "broker")
    running.start()
    yield running
    running.stop()


def decisions(running: Daemon) -> int:
    status = running.status()
    return sum(status["trading"]["decisions_today"].values()) if status else 0


def ctl(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arbiter", "ctl", "-c", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "ARBITER_MQTT__CONTROL_SECRET": SECRET},
    )


def trading_config(directory: Path, exchange_port: int, broker_port: int, extra: str = "") -> Path:
    return daemon_config(
        directory,
        exchange_port,
        ["spot", "linear"],
        taker_fee="0",
        extra_toml=mqtt_toml(broker_port, extra),
    )


def test_telemetry_and_the_last_will(tmp_path: Path, broker: Broker) -> None:
    listener = Listener(broker.port)
    try:
        with emulator(SPOT, USDM, speed=30) as exchange:
            config = trading_config(tmp_path, exchange.port, broker.port)
            with daemon(config) as running:
                wait_for(
                    lambda: any(s["state"] == "online" for s in listener.on("status")), 30, "online"
                )
                wait_for(lambda: len(listener.on("heartbeat")) >= 3, 30, "heartbeats")
                wait_for(lambda: listener.on("fills"), 60, "fills")
                assert {d["event"] for d in listener.on("decisions")} >= {"opened"}
                assert all(
                    m["schema"] == 1 and m["instance"] == "test" for _, m in listener.messages
                )
                assert listener.on("books")[0]["books"][0]["venue"] in (
                    "binance_spot",
                    "binance_usdm",
                )
                # The governor's day: rules only (no Ollama, no keys), nothing spent.
                spend = wait_for(lambda: listener.on("spend"), 30, "spend")[-1]
                assert (spend["unavailable"], spend["spent_today"]) == ("unreachable", "0")
                assert spend["rungs"][:2] == ["rules", "local"]
                running.process.send_signal(signal.SIGKILL)
                running.process.wait(timeout=10)
                wait_for(lambda: listener.on("status")[-1]["state"] == "offline", 30, "last will")
    finally:
        listener.close()


def test_signed_control_and_refusals(tmp_path: Path, broker: Broker) -> None:
    with emulator(SPOT, USDM, speed=30) as exchange:
        config = trading_config(tmp_path, exchange.port, broker.port)
        env = {"ARBITER_MQTT__CONTROL_SECRET": SECRET}
        with daemon(config, env=env) as running:
            wait_for(lambda: decisions(running) >= 2, 60, "trading")
            paused = ctl(config, "pause")
            assert paused.returncode == 0, paused.stderr
            assert json.loads(paused.stdout)["ok"] is True
            time.sleep(0.5)  # decisions already queued finish
            before = decisions(running)
            time.sleep(3)
            assert decisions(running) == before, "no new decisions while paused"
            assert running.status()["trading"]["paused"] is True

            # Refused: a wrong secret, an old timestamp, a replayed nonce. None changes anything.
            async def publish(messages: list[dict[str, Any]]) -> None:
                async with aiomqtt.Client("127.0.0.1", broker.port) as client:
                    for message in messages:
                        await client.publish(f"{BASE}/control/resume", json.dumps(message), qos=1)

            good = sign("resume", {}, SECRET)
            asyncio.run(
                publish(
                    [
                        sign("resume", {}, "wrong-secret"),
                        sign("resume", {}, SECRET, now=time.time() - 600),
                    ]
                )
            )
            time.sleep(1)
            assert running.status()["trading"]["paused"] is True
            asyncio.run(publish([good, good]))
            wait_for(lambda: not running.status()["trading"]["paused"], 10, "resumed")
            wait_for(lambda: decisions(running) > before, 30, "decisions again")
            reasons = [e["reason"] for e in running.events() if e["event"] == "control_rejected"]
            assert reasons[0] == "bad signature"
            assert reasons[1].startswith("timestamp outside")
            assert reasons[2] == "replayed nonce"

            limit = ctl(config, "set-risk", "--limit", "max_order_notional", "--value", "5000")
            assert limit.returncode == 1
            assert "outside" in limit.stdout
            within = ctl(config, "set-risk", "--limit", "max_order_notional", "--value", "400")
            assert within.returncode == 0, within.stdout
            changed = [e for e in running.events() if e["event"] == "risk_changed"]
            assert changed[-1]["value"] == "400"
            assert ctl(config, "reload").returncode == 0
            halted = ctl(config, "halt")
            assert halted.returncode == 0
            assert running.status()["trading"]["halts"]
            assert running.stop() == 0
            assert SECRET not in running.log.read_text()


def test_trading_goes_on_while_the_broker_is_away(tmp_path: Path, broker: Broker) -> None:
    with emulator(SPOT, USDM, speed=30) as exchange:
        config = trading_config(tmp_path, exchange.port, broker.port, "queue_size = 20")
        with daemon(config) as running:
            wait_for(lambda: decisions(running) >= 2, 60, "trading")
            broker.stop()
            before = decisions(running)
            time.sleep(10)
            assert decisions(running) > before, "trading went on without the broker"
            broker.start()
            listener = Listener(broker.port)
            try:
                wait_for(
                    lambda: any(s["state"] == "online" for s in listener.on("status")),
                    60,
                    "the retained status again",
                )
                wait_for(
                    lambda: any(h["mqtt_dropped"] > 0 for h in listener.on("heartbeat")),
                    30,
                    "the drop counter",
                )
            finally:
                listener.close()
            assert running.stop() == 0


def test_tls_and_passwords(tmp_path: Path) -> None:
    (tmp_path / "broker").mkdir()
    secure = tls_broker(tmp_path / "broker", "arbiter", "right-password")
    secure.start()
    context = ssl.create_default_context(cafile=str(tmp_path / "broker" / "ca.crt"))
    listener = Listener(secure.port, context, ("arbiter", "right-password"))
    tls = f'tls = true\nca_file = "{tmp_path / "broker" / "ca.crt"}"\nusername = "arbiter"\n'
    try:
        with emulator(SPOT, USDM, speed=30) as exchange:
            for password, expect_online in (("right-password", True), ("wrong-password", False)):
                directory = tmp_path / password
                directory.mkdir()
                config = trading_config(directory, exchange.port, secure.port, tls)
                env = {"ARBITER_MQTT__PASSWORD": password}
                with daemon(config, env=env) as running:
                    wait_for(lambda: decisions(running) >= 2, 60, "trading")
                    if expect_online:
                        wait_for(
                            lambda: any(s["state"] == "online" for s in listener.on("status")),
                            30,
                            "online over TLS",
                        )
                    else:
                        time.sleep(3)
                        failures = [e for e in running.events() if e["event"] == "mqtt_unavailable"]
                        assert len(failures) == 1, failures
                        assert "authori" in failures[0]["reason"].lower()
                        before = decisions(running)
                        wait_for(
                            lambda before=before: decisions(running) > before, 30, "trading goes on"
                        )
                    assert password not in running.log.read_text()
                    assert running.stop() == 0
    finally:
        listener.close()
        secure.stop()
