"""Faults the emulator injects on request: what a real exchange connection does on a bad day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

FaultKind = Literal["drop", "gap", "freeze", "malformed", "rest"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault.

    - drop: close every websocket connection (of `market`, or all);
    - gap: skip `count` update ids before the next diff, so subscribers see a sequence gap;
    - freeze: send nothing for `seconds` while the book moves on (a stale stream);
    - malformed: send `count` frames of broken JSON;
    - rest: answer the next `count` REST requests with HTTP `status` (429 and 418 carry
      Retry-After, as Binance's do).
    """

    kind: FaultKind
    market: str | None = None
    count: int = 1
    seconds: float = 30.0
    status: int = 429
    at: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """`KIND[@SECONDS][:key=value,...]`, e.g. `gap@20:count=5,market=linear`."""
        head, _, options = spec.partition(":")
        kind, _, at = head.partition("@")
        if kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(get_args(FaultKind))}")
        fields: dict[str, object] = {"kind": kind, "at": float(at or 0)}
        for option in filter(None, options.split(",")):
            key, _, value = option.partition("=")
            if key == "market":
                fields[key] = value
            elif key in ("count", "status"):
                fields[key] = int(value)
            elif key == "seconds":
                fields[key] = float(value)
            else:
                raise ValueError(f"unknown fault option {key!r} in {spec!r}")
        return cls(**fields)  # type: ignore[arg-type]
