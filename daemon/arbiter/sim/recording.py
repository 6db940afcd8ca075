"""Reads the recordings under `data/`: gzip text, one `<receive ns> <raw JSON>` per line.

Lines are Binance combined-stream messages (`{"stream": ..., "data": ...}`), except one raw REST
depth snapshot (`{"lastUpdateId": ..., "bids": ..., "asks": ...}`) near the top.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Levels = list[list[str]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A REST depth snapshot."""

    received_ns: int
    last_update_id: int
    bids: Levels
    asks: Levels


@dataclass(frozen=True, slots=True)
class DepthDiff:
    """A `depthUpdate` event: `U`, `u` and (futures only) `pu`, with absolute level sizes."""

    received_ns: int
    stream: str
    event_ms: int
    first_id: int
    last_id: int
    prev_last_id: int | None
    bids: Levels
    asks: Levels
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """Any other combined-stream message (trades, tickers), kept raw."""

    received_ns: int
    stream: str
    data: dict[str, Any]


Event = Snapshot | DepthDiff | StreamMessage


def read_recording(path: Path) -> Iterator[Event]:
    """Yields the recording's events in file order."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            received, _, body = line.partition(" ")
            yield _event(int(received), json.loads(body))


def _event(received_ns: int, message: dict[str, Any]) -> Event:
    if "lastUpdateId" in message:
        return Snapshot(received_ns, message["lastUpdateId"], message["bids"], message["asks"])
    stream, data = message["stream"], message["data"]
    if data.get("e") == "depthUpdate":
        return DepthDiff(
            received_ns=received_ns,
            stream=stream,
            event_ms=data["E"],
            first_id=data["U"],
            last_id=data["u"],
            prev_last_id=data.get("pu"),
            bids=data["b"],
            asks=data["a"],
            raw=message,
        )
    return StreamMessage(received_ns, stream, data)
