"""Real processes for integration tests: the exchange emulator and the daemon, each started as
`python -m arbiter ...` on free ports and unix sockets in a temporary directory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from arbiter.status import ask, socket_path
from tests.conftest import RECORDINGS, ROOT, write_config

T = TypeVar("T")

SPOT = RECORDINGS / "spot_btcusdt_20240808.gz"
USDM = RECORDINGS / "usdm_btcusdt_20240808.gz"
COINM = RECORDINGS / "coinm_btcusd_perp_20240808.gz"


def arbiter(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m arbiter ARGS...` from the project root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "arbiter", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def wait_for(check: Callable[[], T | None], timeout: float, what: str, every: float = 0.2) -> T:
    """Polls `check` until it returns something truthy; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class Emulator:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base}/admin/state", timeout=5) as answer:
            state: dict[str, Any] = json.load(answer)
            return state

    def fault(self, **fault: Any) -> None:
        request = urllib.request.Request(
            f"{self.base}/admin/fault",
            data=json.dumps(fault).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200


@contextmanager
def emulator(
    *recordings: Path,
    speed: float = 1.0,
    once: bool = False,
    wait_subscribers: int = 0,
    account: list[str] = (),  # type: ignore[assignment]
) -> Iterator[Emulator]:
    command = [sys.executable, "-m", "arbiter", "sim", "exchange", "--speed", str(speed)]
    command += ["--data", *map(str, recordings), "--wait-subscribers", str(wait_subscribers)]
    command += list(account)
    if once:
        command.append("--once")
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "listening on http://127.0.0.1:" in line, line
            yield Emulator(process, int(line.rsplit(":", 1)[1]))
        finally:
            process.terminate()
            process.wait(timeout=10)


VENUES = {
    "spot": ("binance_spot", "BTC/USDT", "api.public", "/api/v3", "api.ws.spot", "/stream/ws"),
    "linear": (
        "binance_usdm",
        "BTC/USDT:USDT",
        "api.fapiPublic",
        "/fapi/v1",
        "api.ws.linear",
        "/fapi/ws",
    ),
    "inverse": (
        "binance_coinm",
        "BTC/USD:BTC",
        "api.dapiPublic",
        "/dapi/v1",
        "api.ws.inverse",
        "/dapi/ws",
    ),
}


def daemon_config(
    directory: Path,
    port: int,
    markets: list[str],
    max_book_age: float = 10.0,
    extra_spot_symbols: tuple[str, ...] = (),
    taker_fee: str = "0.001",
    extra_toml: str = "",
) -> Path:
    """A daemon configuration pointing the given market kinds at an emulator on `port`."""
    lines = [
        'instance = "test"',
        f'state_dir = "{directory / "state"}"',
        f'runtime_dir = "{directory / "run"}"',
        "[logging]",
        'level = "info"',
        "[monitor]",
        "stats_interval = 1.0",
    ]
    for kind in markets:
        name, symbol, rest_key, rest_path, ws_key, ws_path = VENUES[kind]
        lines += [
            f"[venues.{name}]",
            'exchange = "binance"',
            f'market_type = "{kind}"',
            "symbols = " + json.dumps([symbol, *(extra_spot_symbols if kind == "spot" else ())]),
            f"max_book_age = {max_book_age}",
            f'taker_fee = "{taker_fee}"',
            f"[venues.{name}.urls]",
            f'"{rest_key}" = "http://127.0.0.1:{port}{rest_path}"',
            f'"{ws_key}" = "ws://127.0.0.1:{port}{ws_path}"',
        ]
    return write_config(directory, "\n".join(lines) + "\n" + extra_toml)


class Daemon:
    def __init__(self, process: subprocess.Popen[str], config: Path, log: Path) -> None:
        self.process = process
        self.config = config
        self.log = log
        self.socket = socket_path(config.parent / "run", "test")

    def status(self, depth: int = 5) -> dict[str, Any] | None:
        try:
            return asyncio.run(ask(self.socket, {"depth": depth}))
        except (OSError, TimeoutError, ValueError):
            return None

    def books(self) -> dict[str, dict[str, Any]]:
        status = wait_for(self.status, 10, "a status answer")
        return {book["venue"]: book for book in status["books"]}

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line[:1] == "{"]

    def stop(self, timeout: float = 5.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@contextmanager
def daemon(config: Path, env: dict[str, str] | None = None) -> Iterator[Daemon]:
    log = config.parent / "daemon.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "arbiter", "run", "-c", str(config)],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
    running = Daemon(process, config, log)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_for_last_update(running: Daemon, exchange: Emulator) -> None:
    """Waits until a finished `--once` replay's last diff is in every one of the daemon's books."""
    wait_for(lambda: exchange.state()["finished"], 120, "the replay to finish")
    sent = exchange.state()["markets"]
    wait_for(
        lambda: all(
            book["update_id"] == sent[book["market_type"]]["last_id"]
            for book in running.books().values()
        ),
        30,
        "the daemon to apply the last update",
    )


def synced(d: Daemon, *venues: str) -> dict[str, dict[str, Any]] | None:
    """The daemon's books if every one of `venues` is synced, else None."""
    status = d.status()
    if status is None:
        return None
    books = {book["venue"]: book for book in status["books"]}
    return books if all(books[v]["state"] == "synced" for v in venues) else None


#: Paper trading that finds and takes the recorded spot/perp spread: no fees, inventory on both
#: venues, limits wide enough for it.
TRADING = """
[paper]
latency_ms = 5
[paper.balances.binance_spot]
USDT = "5000"
BTC = "0.1"
[paper.balances.binance_usdm]
USDT = "5000"
BTC = "0.1"
[strategy]
min_profit_bps = 0.5
max_notional = "100"
slippage_bps = 0
opportunity_sample_ms = 0
[risk]
max_position = "100000"
max_order_notional = "1000"
max_daily_loss = "1000"
[ai]
# Nothing listens on port 9: no local agents, and no API keys, so the rules decide.
ollama_host = "http://127.0.0.1:9"
"""
