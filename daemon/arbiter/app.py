"""`arbiter run`: the supervisor. One TaskGroup owns every task; SIGTERM or SIGINT stop them in
order (feeds and their exchange connections, the trader, the monitor, MQTT after a last
`offline` status, the journal, the status socket) and the process exits 0."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

from arbiter import __version__
from arbiter.bus import Bus
from arbiter.config import Settings, load_settings
from arbiter.control import Verifier
from arbiter.errors import ConfigError
from arbiter.feeds.backoff import Backoff
from arbiter.feeds.book_feed import BookFeed
from arbiter.logging import get_logger
from arbiter.market_data import BookState, MarketData
from arbiter.monitor import Monitor
from arbiter.status import serve_status, socket_path
from arbiter.systemd import Notifier
from arbiter.trader import Trader

log = get_logger("arbiter.app")


async def supervise(feed: BookFeed) -> None:
    """Restarts a feed that crashed, after a backoff, without touching the others."""
    backoff = Backoff(initial=1.0, maximum=60.0)
    while True:
        try:
            await feed.run()
        except Exception:
            delay = backoff.next_delay()
            log.exception(
                "feed_crashed", venue=feed.name, symbol=feed.symbol, restart_in=round(delay, 2)
            )
            feed.market.mark(feed.name, feed.symbol, BookState.INVALID, "feed crashed")
            await asyncio.sleep(delay)


def control_handler(
    trader: Trader, settings: Settings, config_path: Path | None
) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    """What an accepted control message does."""

    async def handle(message: dict[str, Any]) -> dict[str, Any]:
        command, args = message["command"], message.get("args") or {}
        try:
            if command == "pause":
                trader.pause()
            elif command == "resume":
                trader.resume()
            elif command == "halt":
                await trader.halt(str(args.get("reason", "remote")), bool(args.get("flatten")))
            elif command == "set-risk":
                limit = str(args["limit"])
                bounds = settings.mqtt.risk_bounds.get(limit)
                if bounds is None:
                    raise ValueError(f"{limit} may not be set remotely (no mqtt.risk_bounds)")
                trader.set_risk(limit, Decimal(str(args["value"])), bounds)
            elif command == "reload":
                if config_path is None:
                    raise ValueError("no configuration file to reload")
                trader.reload(load_settings(config_path))
            else:
                raise ValueError(f"unknown command {command!r}")
        except (ValueError, KeyError, ConfigError) as error:
            return {"ok": False, "detail": str(error)}
        return {"ok": True}

    return handle


def make_bus(settings: Settings, trader: Trader) -> Bus | None:
    """The MQTT bus, wired to the trader's telemetry, when `mqtt.enabled`."""
    if not settings.mqtt.enabled:
        return None
    secret = settings.mqtt.control_secret
    verifier = Verifier(
        secret.get_secret_value() if secret else None,
        settings.mqtt.control_window,
        trader.journal.remember_nonce,
    )
    bus = Bus(settings.mqtt, settings.instance, verifier)
    bus.status.update(version=__version__, mode=settings.mode)
    trader.publish = bus.publish
    return bus


async def run_daemon(settings: Settings, config_path: Path | None = None) -> None:
    # First of all, so that a stop asked for while starting is a clean stop, not a kill.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    market = MarketData()
    feeds = [
        BookFeed(name, venue, symbol, market)
        for name, venue in settings.venues.items()
        for symbol in venue.symbols
    ]
    notifier = Notifier.from_environment()
    trader = Trader(settings, market)
    market.listeners.append(trader.on_book)
    bus = make_bus(settings, trader)
    monitor = Monitor(market, settings.monitor, notifier, trader=trader, bus=bus)

    def report(depth: int) -> dict[str, Any]:
        return {
            "instance": settings.instance,
            "version": __version__,
            "mode": settings.mode,
            "ready": monitor.ready,
            "books": market.status(depth),
            "trading": trader.status(),
        }

    handle = control_handler(trader, settings, config_path)

    async def control(request: dict[str, Any]) -> dict[str, Any]:
        # The status socket is the daemon user's own: its commands need no signature.
        return await handle({"command": request.get("command"), "args": request})

    path = socket_path(settings.runtime_dir, settings.instance)
    async with AsyncExitStack() as cleanup:
        cleanup.callback(notifier.close)
        cleanup.push_async_callback(trader.close)
        server = await serve_status(path, report, control)
        cleanup.callback(path.unlink, missing_ok=True)
        cleanup.callback(server.close)
        log.info(
            "daemon_started",
            version=__version__,
            instance=settings.instance,
            mode=settings.mode,
            books=len(feeds),
            status_socket=str(path),
        )
        async with asyncio.TaskGroup() as tasks:
            feed_tasks = [
                tasks.create_task(supervise(feed), name=f"feed {feed.name} {feed.symbol}")
                for feed in feeds
            ]
            trader_task = tasks.create_task(trader.run(), name="trader")
            bus_task = None
            if bus is not None:
                bus_task = tasks.create_task(bus.run(handle), name="mqtt")
            monitor_task = tasks.create_task(monitor.run(), name="monitor")
            await stop.wait()
            log.info("shutdown_started")
            notifier.notify("STOPPING=1")
            for task in feed_tasks:  # stop intake first; each closes its exchange connection
                task.cancel()
            await asyncio.wait(feed_tasks)
            trader_task.cancel()  # decisions in flight stop; the journal marks them on restart
            monitor_task.cancel()
            if bus is not None and bus_task is not None:
                bus.set_status(state="offline")  # a clean stop says so; the will covers a crash
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await bus.flush()
                bus_task.cancel()
    log.info("shutdown_complete")
