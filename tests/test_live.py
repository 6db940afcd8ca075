"""The live broker through the real ccxt client against the emulator's signed spot endpoints:
balances reconciled from the venue, IOC fills booked exactly, a retried client order id never
booked twice, a bad key refused; and the daemon in live mode flattening a real position."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web

from arbiter.config import VenueSettings
from arbiter.execution.live import LiveBroker
from arbiter.execution.orders import OrderRequest
from arbiter.execution.portfolio import Portfolio
from arbiter.feeds.venue import make_exchange
from arbiter.journal import Journal
from arbiter.sim.account import Account
from arbiter.sim.exchange import Emulator
from arbiter.sim.market import Market
from tests.conftest import ROOT
from tests.harness import SPOT, daemon, daemon_config, emulator, wait_for

KEY, SECRET = "test-key", "test-secret-for-hmac"


@pytest.fixture
async def venue() -> AsyncIterator[tuple[Emulator, int]]:
    account = Account(KEY, SECRET, {"USDT": Decimal(1000), "BTC": Decimal("0.01")})
    exchange = Emulator([Market.load(SPOT)], speed=1, loop=True, account=account)
    runner = web.AppRunner(exchange.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield exchange, runner.addresses[0][1]
    await runner.cleanup()


def settings(port: int, secret: str = SECRET) -> VenueSettings:
    base = f"127.0.0.1:{port}"
    return VenueSettings.model_validate(
        {
            "exchange": "binance",
            "symbols": ["BTC/USDT"],
            "api_key": KEY,
            "api_secret": secret,
            "urls": {
                "api.public": f"http://{base}/api/v3",
                "api.private": f"http://{base}/api/v3",
                "api.ws.spot": f"ws://{base}/stream/ws",
            },
        }
    )


def mark(asset: str) -> Decimal | None:
    return Decimal(1) if asset == "USDT" else Decimal("61800")


def order(client_id: str, side: str, amount: str, limit: str | None) -> OrderRequest:
    return OrderRequest(
        client_order_id=client_id,
        decision_id="d",
        venue="spot",
        symbol="BTC/USDT",
        side=side,  # type: ignore[arg-type]
        amount=Decimal(amount),
        limit_price=None if limit is None else Decimal(limit),
        purpose="entry",
    )


async def test_fills_are_booked_exactly_and_once(
    venue: tuple[Emulator, int], tmp_path: Path
) -> None:
    exchange, port = venue
    journal = Journal(tmp_path / "live.sqlite")
    portfolio = Portfolio("USDT")
    client = make_exchange(settings(port), on_malformed=lambda _: None)
    broker = LiveBroker({"spot": client}, portfolio=portfolio, journal=journal, marks=mark)
    try:
        await broker.reconcile({"spot": ("BTC/USDT",)})
        assert portfolio.balance("spot", "BTC") == Decimal("0.01")
        assert portfolio.balance("spot", "USDT") == Decimal(1000)
        assert portfolio.initial_equity == Decimal(1000) + Decimal("0.01") * 61800

        bought = await broker.execute(order("abc-1", "buy", "0.002", "70000"))
        assert bought.filled == Decimal("0.002")
        assert exchange.account is not None
        for asset in ("BTC", "USDT"):  # the books agree with the venue to the last unit
            assert portfolio.balance("spot", asset) == exchange.account.balances[asset]

        again = await broker.execute(order("abc-1", "buy", "0.002", "70000"))
        assert again.reason == "already booked"
        assert len(exchange.account.orders) == 1
        assert portfolio.balance("spot", "BTC") == exchange.account.balances["BTC"]
        assert journal.db.execute("SELECT count(*) FROM fills").fetchone() == (1,)

        unfillable = await broker.execute(order("abc-2", "buy", "0.002", "1000"))
        assert (unfillable.filled, unfillable.reason) == (
            Decimal(0),
            "venue filled nothing (EXPIRED)",
        )
    finally:
        await broker.close()


async def test_a_wrong_secret_is_refused_and_nothing_booked(
    venue: tuple[Emulator, int], tmp_path: Path
) -> None:
    _, port = venue
    journal = Journal(tmp_path / "live.sqlite")
    client = make_exchange(settings(port, secret="wrong"), on_malformed=lambda _: None)
    broker = LiveBroker({"spot": client}, portfolio=Portfolio("USDT"), journal=journal, marks=mark)
    try:
        await client.load_markets()
        result = await broker.execute(order("x-1", "sell", "0.001", None))
        assert result.filled == 0
        assert result.reason is not None
        assert result.reason.startswith("AuthenticationError")
    finally:
        await broker.close()


def test_the_daemon_trades_live_only_when_confirmed_and_flattens(tmp_path: Path) -> None:
    account = ["--api-key", KEY, "--api-secret", SECRET, "--balance", "USDT=100"]
    account += ["--balance", "BTC=0.004"]
    with emulator(SPOT, speed=2, account=account) as exchange:
        config = daemon_config(tmp_path, exchange.port, ["spot"])
        text = config.read_text().replace('instance = "test"', 'instance = "test"\nmode = "live"')
        config.write_text(text + f'"api.private" = "http://127.0.0.1:{exchange.port}/api/v3"\n')
        env = {
            "ARBITER_CONFIRM_LIVE": "yes",
            "ARBITER_VENUES__BINANCE_SPOT__API_KEY": KEY,
            "ARBITER_VENUES__BINANCE_SPOT__API_SECRET": SECRET,
        }
        with daemon(config, env=env) as running:

            def holds_btc() -> bool:
                status = running.status()
                balances = (status or {}).get("trading", {}).get("balances", [])
                return any(b["asset"] == "BTC" and b["amount"] == "0.004" for b in balances)

            wait_for(holds_btc, 30, "the venue's balances adopted")
            subprocess.run(
                [sys.executable, "-m", "arbiter", "halt", "--flatten", "-c", str(config)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
                env={**os.environ, **env},
            )
            state = exchange.state()
            assert state["account"]["BTC"] == "0.000"
            assert Decimal(state["account"]["USDT"]) > 100
            assert running.stop() == 0
        assert (
            "SECRET" not in running.log.read_text().upper() or SECRET not in running.log.read_text()
        )
