"""What the daemon tells the world about its books, on a clock: systemd readiness, watchdog and
status line, periodic `book_stats` events, and (for people) a one-line summary on stderr."""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from arbiter.bus import Bus
from arbiter.config import MonitorSettings
from arbiter.logging import get_logger
from arbiter.market_data import BookState, MarketData
from arbiter.systemd import Notifier
from arbiter.trader import Trader

log = get_logger("arbiter.monitor")
TICK = 1.0


class Monitor:
    def __init__(
        self,
        market: MarketData,
        settings: MonitorSettings,
        notifier: Notifier,
        *,
        trader: Trader | None = None,
        bus: Bus | None = None,
        summary_stream: TextIO = sys.stderr,
    ) -> None:
        self.market = market
        self.trader = trader
        self.bus = bus
        self.started = time.monotonic()
        self.settings = settings
        self.notifier = notifier
        self.summary_stream = summary_stream
        self.ready = False

    async def run(self) -> None:
        watchdog = Notifier.watchdog_interval()
        tick = min(TICK, watchdog) if watchdog else TICK
        due = {"stats": 0.0, "summary": 0.0, "watchdog": 0.0, "heartbeat": 0.0, "books": 0.0}
        while True:
            now = time.monotonic()
            self.market.check_staleness()
            if not self.ready and self.market.all_synced:
                self.ready = True
                self.notifier.notify("READY=1", f"STATUS={self.status_line()}")
                log.info("daemon_ready", books=len(self.market.health))
            if watchdog and now >= due["watchdog"]:
                self.notifier.notify("WATCHDOG=1", f"STATUS={self.status_line()}")
                due["watchdog"] = now + watchdog
            if now >= due["stats"]:
                self.log_stats()
                if self.trader is not None:
                    self.trader.snapshot_equity()
                due["stats"] = now + self.settings.stats_interval
            if self.bus is not None:
                self.publish_telemetry(now, due)
            if self.settings.summary_interval and now >= due["summary"]:
                print(self.summary_line(), file=self.summary_stream, flush=True)
                due["summary"] = now + self.settings.summary_interval
            await asyncio.sleep(tick)

    def publish_telemetry(self, now: float, due: dict[str, float]) -> None:
        bus = self.bus
        assert bus is not None
        trading = self.trader.status() if self.trader is not None else {}
        state = {
            "ready": self.ready,
            "paused": bool(self.trader and self.trader.paused),
            "halted": bool(trading.get("halts")),
        }
        if any(bus.status.get(key) != value for key, value in state.items()):
            bus.set_status(**state)
        if now >= due["heartbeat"]:
            books = self.market.health.values()
            bus.publish(
                "heartbeat",
                {
                    "uptime_s": round(now - self.started, 1),
                    "books_synced": sum(h.state is BookState.SYNCED for h in books),
                    "books": len(books),
                    "mqtt_dropped": bus.dropped,
                    "mqtt_queued": len(bus.queue),
                    "equity": trading.get("equity"),
                    "today_pnl": trading.get("today_pnl"),
                    **state,
                },
            )
            due["heartbeat"] = now + bus.settings.heartbeat_interval
        if now >= due["books"]:
            summaries = [
                {k: v for k, v in book.items() if k not in ("bids", "asks")}
                for book in self.market.status(depth=0)
            ]
            bus.publish("books", {"books": summaries})
            due["books"] = now + bus.settings.books_interval

    def status_line(self) -> str:
        books = self.market.health.values()
        synced = sum(h.state is BookState.SYNCED for h in books)
        rate = sum(h.updates_per_s for h in books)
        return f"{synced}/{len(books)} books synced, {rate:.0f} updates/s"

    def log_stats(self) -> None:
        for book in self.market.status(depth=0):
            del book["bids"], book["asks"]
            log.info("book_stats", **book)

    def summary_line(self) -> str:
        books = self.market.status(depth=0)
        parts = [_describe(book) for book in books]
        parts += _basis(books)
        if self.trader is not None:
            status = self.trader.status()
            if status["equity"] is not None:
                parts.append(
                    f"equity {float(status['equity']):.2f} pnl today "
                    f"{float(status['today_pnl']):+.4f}"
                )
            if signals := status["signals"]:
                parts.append(
                    "signal "
                    + " ".join(
                        f"{name.split('|')[0]} up {p['up']:.2f} flat {p['flat']:.2f} "
                        f"down {p['down']:.2f}"
                        for name, p in signals.items()
                    )
                )
            ai = status["ai"]
            spent = float(ai["spent_today"]) + float(ai["reserved"])
            state = (
                f"rules only ({ai['unavailable']})" if ai["unavailable"] else "+".join(ai["rungs"])
            )
            parts.append(f"ai {state} ${spent:.4f} of ${float(ai['daily_limit']):.4f} today")
            if spread := self.trader.best_spread():
                parts.append(spread)
        clock = datetime.now(UTC).strftime("%H:%M:%S")
        return f"{clock}  " + "  |  ".join(parts)


def _describe(book: dict[str, Any]) -> str:
    name = f"{book['venue']} {book['symbol']}"
    if book["state"] != BookState.SYNCED or not (book["best_bid"] and book["best_ask"]):
        return f"{name} {book['state'].upper()}"
    bid, ask = book["best_bid"][0], book["best_ask"][0]
    return f"{name} {bid:.2f}/{ask:.2f} {book['spread_bps']:.2f}bps {book['updates_per_s']:.0f}/s"


def _basis(books: list[dict[str, Any]]) -> list[str]:
    """Perp minus spot for every perpetual whose underlying pair is also streamed as spot."""
    mids = {
        (b["market_type"], b["symbol"].split(":")[0]): (b["best_bid"][0] + b["best_ask"][0]) / 2
        for b in books
        if b["state"] == BookState.SYNCED and b["best_bid"] and b["best_ask"]
    }
    lines = []
    for (market_type, pair), perp in sorted(mids.items()):
        spot = mids.get(("spot", pair))
        if market_type != "spot" and spot:
            basis = perp - spot
            lines.append(f"basis {pair} {market_type} {basis:+.2f} ({basis / spot * 1e4:+.1f}bps)")
    return lines
