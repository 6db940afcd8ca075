"""One emulated Binance market: the recorded snapshot and diffs, replayed with a book state that
REST snapshots are served from and update ids that stay consistent across gaps and loops."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

from arbiter.sim.recording import DepthDiff, Snapshot, read_recording

MarketKind = Literal["spot", "linear", "inverse"]


@dataclass(frozen=True, slots=True)
class RecordedDiff:
    """A diff with its levels pre-serialised, so emitting it costs one string format."""

    event_ms: int
    span: int
    bids: list[list[str]]
    asks: list[list[str]]
    levels_json: str
    extra_json: str


def _recorded(diff: DepthDiff) -> RecordedDiff:
    data = diff.raw["data"]
    # Fields ccxt does not read but Binance sends (T, ps) keep their recorded values.
    extra = {key: data[key] for key in ("T", "ps") if key in data}
    return RecordedDiff(
        event_ms=diff.event_ms,
        span=diff.last_id - diff.first_id + 1,
        bids=diff.bids,
        asks=diff.asks,
        levels_json=f'"b":{json.dumps(diff.bids)},"a":{json.dumps(diff.asks)}',
        extra_json="".join(f',"{k}":{json.dumps(v)}' for k, v in extra.items()),
    )


@dataclass
class Market:
    """A market's recording and its live replay state."""

    kind: MarketKind
    symbol: str
    snapshot: Snapshot
    diffs: list[RecordedDiff]
    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)
    last_id: int = 0
    position: int = 0
    loops: int = 0
    sent: int = 0
    pending_gap: int = 0
    #: Exchange-time length of one pass; every market of a replay shares the longest.
    loop_ms: int = 0

    @classmethod
    def load(cls, path: Path) -> Market:
        events = list(read_recording(path))
        snapshot = next(e for e in events if isinstance(e, Snapshot))
        diffs = [
            e for e in events if isinstance(e, DepthDiff) and e.last_id > snapshot.last_update_id
        ]
        if not diffs:
            raise ValueError(f"{path}: no depth diffs after the snapshot")
        data = diffs[0].raw["data"]
        kind: MarketKind = "inverse" if "ps" in data else "linear" if "pu" in data else "spot"
        market = cls(kind, data["s"], snapshot, [_recorded(d) for d in diffs])
        market.reset_book()
        market.last_id = snapshot.last_update_id
        market.loop_ms = market.diffs[-1].event_ms - market.diffs[0].event_ms + 1
        return market

    @property
    def futures(self) -> bool:
        return self.kind != "spot"

    @property
    def stream(self) -> str:
        return f"{self.symbol.lower()}@depth@100ms"

    def reset_book(self) -> None:
        self.bids = {price: size for price, size in self.snapshot.bids}
        self.asks = {price: size for price, size in self.snapshot.asks}

    def depth(self, limit: int) -> dict[str, object]:
        """The REST depth body for the book as it stands."""

        def top(side: dict[str, str], descending: bool) -> list[list[str]]:
            prices = sorted(side, key=Decimal, reverse=descending)[:limit]
            return [[price, side[price]] for price in prices]

        return {
            "lastUpdateId": self.last_id,
            "E": self.diffs[self.position - 1].event_ms if self.position else 0,
            "T": self.diffs[self.position - 1].event_ms if self.position else 0,
            "bids": top(self.bids, descending=True),
            "asks": top(self.asks, descending=False),
        }

    @property
    def next_event_ms(self) -> int:
        """Exchange time of the next diff, shifted by whole loops of the recording."""
        return self.diffs[self.position].event_ms + self.loops * self.loop_ms

    def advance(self) -> str:
        """Applies the next diff to the book and returns its combined-stream message."""
        diff = self.diffs[self.position]
        self._apply(diff.bids, diff.asks)
        message = self._message(diff.span, diff.levels_json, diff.extra_json, diff.event_ms)
        self.position += 1
        self.sent += 1
        return message

    @property
    def at_end(self) -> bool:
        return self.position >= len(self.diffs)

    def loop(self) -> str:
        """Starts the recording again with a diff that turns the current book into the
        snapshot's, so subscribers carry on without a resync."""
        target_bids = dict(self.snapshot.bids)
        target_asks = dict(self.snapshot.asks)
        bids = [[p, "0"] for p in self.bids if p not in target_bids] + self.snapshot.bids
        asks = [[p, "0"] for p in self.asks if p not in target_asks] + self.snapshot.asks
        event_ms = self.diffs[-1].event_ms + 1
        self.reset_book()
        levels = f'"b":{json.dumps(bids)},"a":{json.dumps(asks)}'
        message = self._message(1, levels, "", event_ms)
        self.position = 0
        self.loops += 1
        return message

    def _apply(self, bids: list[list[str]], asks: list[list[str]]) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, size in levels:
                if float(size) == 0:
                    side.pop(price, None)
                else:
                    side[price] = size

    def _message(self, span: int, levels: str, extra: str, event_ms: int) -> str:
        # Ids are renumbered into one unbroken chain (unless a gap is injected), so they stay
        # increasing and consistent across loops.
        previous = self.last_id + self.pending_gap
        first = previous + 1
        self.last_id, self.pending_gap = previous + span, 0
        event = event_ms + self.loops * self.loop_ms
        pu = f',"pu":{previous}' if self.futures else ""
        return (
            f'{{"stream":"{self.stream}","data":{{"e":"depthUpdate","E":{event},"s":"{self.symbol}"'
            f'{extra},"U":{first},"u":{self.last_id}{pu},{levels}}}}}'
        )
