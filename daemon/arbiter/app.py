"""`arbiter run`: the supervisor. One TaskGroup owns every task; SIGTERM or SIGINT stop them in
order (feeds and their exchange connections, monitor, status socket) and the process exits 0."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AsyncExitStack
from typing import Any

from arbiter import __version__
from arbiter.config import Settings
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


async def run_daemon(settings: Settings) -> None:
    market = MarketData()
    feeds = [
        BookFeed(name, venue, symbol, market)
        for name, venue in settings.venues.items()
        for symbol in venue.symbols
    ]
    notifier = Notifier.from_environment()
    trader = Trader(settings, market)
    market.listeners.append(trader.on_book)
    monitor = Monitor(market, settings.monitor, notifier, trader)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def report(depth: int) -> dict[str, Any]:
        return {
            "instance": settings.instance,
            "version": __version__,
            "mode": settings.mode,
            "ready": monitor.ready,
            "books": market.status(depth),
            "trading": trader.status(),
        }

    async def control(command: dict[str, Any]) -> dict[str, Any]:
        if command.get("command") == "halt":
            await trader.halt(str(command.get("reason", "operator")), bool(command.get("flatten")))
            return {"halted": True}
        if command.get("command") == "resume":
            return {"resumed": trader.resume()}
        return {"error": f"unknown command {command.get('command')!r}"}

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
            monitor_task = tasks.create_task(monitor.run(), name="monitor")
            await stop.wait()
            log.info("shutdown_started")
            notifier.notify("STOPPING=1")
            for task in feed_tasks:  # stop intake first; each closes its exchange connection
                task.cancel()
            await asyncio.wait(feed_tasks)
            trader_task.cancel()  # decisions in flight stop; the journal marks them on restart
            monitor_task.cancel()
    log.info("shutdown_complete")
