"""The exchange emulator: its id chain stays consistent across loops and injected gaps, and
unmodified ccxt.pro keeps its book synced through a loop boundary over real sockets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import ccxt.pro
import pytest
from aiohttp import web

from arbiter.books import OrderBook, SequenceGapError
from arbiter.sim.exchange import Emulator
from arbiter.sim.faults import Fault
from arbiter.sim.market import Market
from tests.harness import SPOT, USDM
from tests.reference import rebuild


def apply(book: OrderBook, message: str) -> None:
    data = json.loads(message)["data"]
    book.apply_delta(data["U"], data["u"], data["b"], data["a"], data.get("pu"))


@pytest.mark.parametrize("path", [SPOT, USDM])
def test_two_loops_form_one_unbroken_chain(path: Path) -> None:
    market = Market.load(path)
    book = OrderBook()
    book.apply_snapshot(market.last_id, market.snapshot.bids, market.snapshot.asks)
    reference = rebuild(path)
    for _ in range(2):
        while not market.at_end:
            apply(book, market.advance())
        assert book.levels("bid", 20) == reference.top("bid", 20)
        assert book.levels("ask", 20) == reference.top("ask", 20)
        apply(book, market.loop())
        start = OrderBook()
        start.apply_snapshot(1, market.snapshot.bids, market.snapshot.asks)
        assert book.levels("bid", 5000) == start.levels("bid", 5000)
        assert book.levels("ask", 5000) == start.levels("ask", 5000)
    assert market.loops == 2
    # A REST snapshot taken now continues the same chain.
    depth = market.depth(1000)
    assert depth["lastUpdateId"] == book.update_id


def test_an_injected_gap_breaks_the_chain() -> None:
    market = Market.load(USDM)
    book = OrderBook()
    book.apply_snapshot(market.last_id, market.snapshot.bids, market.snapshot.asks)
    apply(book, market.advance())
    market.pending_gap = 3
    with pytest.raises(SequenceGapError):
        apply(book, market.advance())


def test_fault_specs_parse() -> None:
    assert Fault.parse("drop") == Fault("drop")
    assert Fault.parse("gap@20:count=5,market=linear") == Fault(
        "gap", market="linear", count=5, at=20.0
    )
    assert Fault.parse("rest@0:status=418,count=2") == Fault("rest", status=418, count=2)
    with pytest.raises(ValueError, match="unknown fault"):
        Fault.parse("explode")
    with pytest.raises(ValueError, match="unknown fault option"):
        Fault.parse("gap:size=3")


async def test_ccxt_stays_synced_across_a_loop() -> None:
    emulator = Emulator([Market.load(SPOT)], speed=0, loop=True, wait_subscribers=1)
    runner = web.AppRunner(emulator.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = ccxt.pro.binance({"options": {"fetchMarkets": {"types": ["spot"]}}})
    client.urls["api"]["public"] = f"http://127.0.0.1:{port}/api/v3"
    client.urls["api"]["ws"]["spot"] = f"ws://127.0.0.1:{port}/stream/ws"
    replay = asyncio.create_task(emulator.replay())
    try:
        async with asyncio.timeout(60):
            while emulator.markets["spot"].loops < 2:
                book = await client.watch_order_book("BTC/USDT")
        # Still the same subscription: no error, no second snapshot.
        assert emulator.rest_requests["/api/v3/depth"] == 1
        assert book["bids"][0][0] < book["asks"][0][0]
    finally:
        replay.cancel()
        await client.close()
        await runner.cleanup()
