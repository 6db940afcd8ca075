"""How many order-book updates per second the daemon's feed path sustains from the emulator at
full speed, against ccxt.pro alone consuming the same stream in the same run; and whether the
three-venue recording replays at 20x real time without the daemon falling behind.

    .venv/bin/python bench/feed_throughput.py [--rounds N]

Contenders, each against a fresh emulator (`--speed 0 --once`, USDⓈ-M recording):
- raw websocket: aiohttp reading frames and nothing else (the emulator's ceiling);
- ccxt.pro alone: `watch_order_book` in a loop, as any ccxt user would;
- daemon: arbiter's BookFeed (ccxt.pro plus mirroring every update into the Rust store).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import ccxt
import ccxt.pro
import uvloop

from arbiter.config import LoggingSettings, VenueSettings
from arbiter.feeds.book_feed import BookFeed
from arbiter.logging import configure_logging
from arbiter.market_data import MarketData
from arbiter.sim.market import Market

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "data/binance/recordings"
USDM = RECORDINGS / "usdm_btcusdt_20240808.gz"
THREE = {
    "spot": RECORDINGS / "spot_btcusdt_20240808.gz",
    "linear": USDM,
    "inverse": RECORDINGS / "coinm_btcusd_perp_20240808.gz",
}
VENUES = {
    "spot": ("BTC/USDT", {"api.public": "/api/v3", "api.ws.spot": "/stream/ws"}),
    "linear": ("BTC/USDT:USDT", {"api.fapiPublic": "/fapi/v1", "api.ws.linear": "/fapi/ws"}),
    "inverse": ("BTC/USD:BTC", {"api.dapiPublic": "/dapi/v1", "api.ws.inverse": "/dapi/ws"}),
}


def final_id(path: Path) -> tuple[int, int]:
    """The last update id the emulator will send for a recording, and its number of diffs."""
    market = Market.load(path)
    while not market.at_end:
        market.advance()
    return market.last_id, len(market.diffs)


def venue(kind: str, port: int) -> VenueSettings:
    symbol, paths = VENUES[kind]
    scheme = {path: "ws" if ".ws." in key else "http" for key, path in paths.items()}
    urls = {key: f"{scheme[path]}://127.0.0.1:{port}{path}" for key, path in paths.items()}
    return VenueSettings(exchange="binance", market_type=kind, symbols=(symbol,), urls=urls)


def start_emulator(paths: list[Path], speed: float) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "arbiter", "sim", "exchange", "--once"]
    command += ["--speed", str(speed), "--wait-subscribers", str(len(paths))]
    command += ["--log-format", "json", "--data"]
    process = subprocess.Popen(
        [*command, *map(str, paths)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline().rsplit(":", 1)[1])


async def emulator_state(port: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/admin/state"
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        state: dict[str, Any] = await answer.json()
        return state


async def raw_websocket(port: int, last_id: int) -> tuple[float, int]:
    url = f"ws://127.0.0.1:{port}/fapi/public/ws/0"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1})
        needle = f'"u":{last_id},'
        async for message in ws:
            if needle in message.data:
                return 0.0, 0
    raise AssertionError("stream ended early")


async def ccxt_alone(port: int, last_id: int) -> tuple[float, int]:
    settings = venue("linear", port)
    exchange = ccxt.pro.binance(
        {"options": {"defaultType": "future", "fetchMarkets": {"types": ["linear"]}}}
    )
    for key, url in settings.urls.items():
        *parents, leaf = key.split(".")
        node = exchange.urls
        for part in parents:
            node = node[part]
        node[leaf] = url
    try:
        while (await exchange.watch_order_book("BTC/USDT:USDT"))["nonce"] < last_id:
            pass
    finally:
        await exchange.close()
    return 0.0, 0


class TimedMarketData(MarketData):
    """MarketData that times its own work and says when every book reached its last id."""

    def __init__(self, last_ids: dict[str, int]) -> None:
        super().__init__()
        self.last_ids = last_ids
        self.own_seconds = 0.0
        self.calls = 0
        self.done = asyncio.Event()
        self.reached: set[str] = set()

    def update(self, venue: str, symbol: str, update_id: int, *args: Any, **kwargs: Any) -> None:
        start = time.perf_counter()
        super().update(venue, symbol, update_id, *args, **kwargs)
        self.own_seconds += time.perf_counter() - start
        self.calls += 1
        if update_id >= self.last_ids[venue]:
            self.reached.add(venue)
            if self.reached == set(self.last_ids):
                self.done.set()


async def daemon_feeds(port: int, last_ids: dict[str, int]) -> tuple[float, int]:
    market = TimedMarketData(last_ids)
    feeds = [BookFeed(kind, venue(kind, port), VENUES[kind][0], market) for kind in last_ids]
    tasks = [asyncio.create_task(feed.run()) for feed in feeds]
    try:
        await market.done.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return market.own_seconds, market.calls


#: Runs against an emulator port until the stream's last id; returns the seconds spent in our
#: own code and how many book updates it mirrored (0, 0 for contenders that have none).
Contender = Callable[[int, Any], Awaitable[tuple[float, int]]]


async def measure(
    contender: Contender, target: Any, paths: list[Path], speed: float = 0
) -> dict[str, float]:
    process, port = start_emulator(paths, speed)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        own, calls = await contender(port, target)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        state = await emulator_state(port)
    finally:
        process.terminate()
        process.wait()
    return {"wall": wall, "cpu": cpu, "own": own, "calls": calls, "lag_ms": state["lag_ms"]}


def report(name: str, run: dict[str, float], diffs: int) -> None:
    rate, cpu = diffs / run["wall"], run["cpu"] / diffs * 1e6
    print(f"  {name:<15} {rate:>9,.0f} diffs/s   CPU {cpu:6.1f} µs/diff")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    configure_logging(LoggingSettings(level="warning"))
    last_id, diffs = final_id(USDM)
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, "
        f"ccxt {ccxt.__version__}"
    )
    print(f"USDⓈ-M stream at full speed: {diffs} diffs; best of {rounds} per contender")
    contenders: dict[str, tuple[Contender, Any]] = {
        "raw websocket": (raw_websocket, last_id),
        "ccxt.pro alone": (ccxt_alone, last_id),
        "daemon": (daemon_feeds, {"linear": last_id}),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
    for _ in range(rounds):  # interleaved, so drift in the machine hits every contender alike
        for name, (contender, target) in contenders.items():
            runs[name].append(await measure(contender, target, [USDM]))
    best = {name: min(results, key=lambda r: r["wall"]) for name, results in runs.items()}
    for name, run in best.items():
        report(name, run, diffs)
    alone, ours = best["ccxt.pro alone"], best["daemon"]
    print(
        f"  daemon / ccxt.pro alone: {alone['wall'] / ours['wall']:.2f}x throughput "
        "(target >= 0.8x)"
    )
    print(f"  extra CPU per diff over ccxt alone: {(ours['cpu'] - alone['cpu']) / ours['cpu']:.1%}")
    print(
        f"  our code (MarketData.update into the Rust store): "
        f"{ours['own'] / ours['calls'] * 1e6:.1f} µs per mirrored update, "
        f"{ours['calls']} updates (ccxt coalesces diffs that arrive together)"
    )

    speed = 20.0
    ends = {kind: final_id(path) for kind, path in THREE.items()}
    total = sum(count for _, count in ends.values())
    run = await measure(
        daemon_feeds, {kind: end for kind, (end, _) in ends.items()}, list(THREE.values()), speed
    )
    span = max(Market.load(path).loop_ms for path in THREE.values()) / 1000
    print(
        f"three venues at {speed:.0f}x real time: {total} diffs over {span:.0f} s of exchange time"
    )
    print(f"  replay took {run['wall']:.1f} s (ideal {span / speed:.1f} s), emulator's worst lag")
    print(
        f"  behind schedule {run['lag_ms']:.0f} ms; "
        f"daemon CPU {run['cpu'] / run['wall']:.0%} of a core"
    )
    print(
        f"  our code: {run['own'] / run['calls'] * 1e6:.1f} µs per update over "
        f"{run['calls']} updates, {run['own'] / run['cpu']:.1%} of the daemon's CPU"
    )


if __name__ == "__main__":
    uvloop.run(main())
