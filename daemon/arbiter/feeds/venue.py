"""Builds ccxt.pro clients from venue settings: the one place that knows ccxt's options, URL
layout and error classes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ccxt
import ccxt.pro
from ccxt.async_support.base.ws.client import json_parser as ws_json

from arbiter.config import VenueSettings

#: ccxt's `defaultType` for each market type arbiter configures.
DEFAULT_TYPE = {"spot": "spot", "linear": "future", "inverse": "delivery"}

#: Errors after which the stream must be rebuilt from a fresh snapshot.
RESYNC_ERRORS: tuple[type[Exception], ...] = (ccxt.InvalidNonce,)  # ChecksumError included
#: Errors a venue raises when it wants us to slow down.
RATE_LIMIT_ERRORS: tuple[type[Exception], ...] = (ccxt.DDoSProtection,)  # RateLimitExceeded too
#: Errors that pass with time: reconnect with backoff.
TEMPORARY_ERRORS: tuple[type[Exception], ...] = (ccxt.NetworkError,)

MalformedHandler = Callable[[str], None]


def make_exchange(venue: VenueSettings, on_malformed: MalformedHandler) -> Any:
    """A ccxt.pro client for `venue`, public data only unless credentials are configured.

    `on_malformed` hears about every websocket message that was not valid JSON (ccxt passes
    those on as plain strings)."""
    base = getattr(ccxt.pro, venue.exchange, None)
    if base is None:
        raise ValueError(f"ccxt.pro has no exchange {venue.exchange!r}")

    def handle_message(self: Any, client: Any, message: Any) -> Any:
        if not isinstance(message, dict | list):
            on_malformed(str(message)[:200])
            return None
        return base.handle_message(self, client, message)

    def client(self: Any, url: str) -> Any:
        ws = base.client(self, url)
        if not getattr(ws, "arbiter_guarded", False):
            ws.handle_text_or_binary_message = _tolerate_bad_json(ws, on_malformed)
            ws.arbiter_guarded = True
        return ws

    adapter = type(
        f"Arbiter{base.__name__}", (base,), {"handle_message": handle_message, "client": client}
    )
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "options": {
            "defaultType": DEFAULT_TYPE[venue.market_type],
            "fetchMarkets": {"types": [venue.market_type]},
            # Spot trading only: no margin pairs and no wallet currencies (private calls).
            "fetchMargins": False,
            "fetchCurrencies": False,
            # ccxt retries a failed snapshot at once; on a 429 that is hammering. One try, and
            # our backoff decides when the next one goes.
            "watchOrderBook": {"maxRetries": 1},
        },
    }
    if venue.api_key is not None:
        config["apiKey"] = venue.api_key.get_secret_value()
    if venue.api_secret is not None:
        config["secret"] = venue.api_secret.get_secret_value()
    exchange = adapter(config)
    for path, url in venue.urls.items():
        *parents, leaf = path.split(".")
        node = exchange.urls
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = url
    return exchange


def _tolerate_bad_json(ws: Any, on_malformed: MalformedHandler) -> Callable[[Any], None]:
    """ccxt decodes frames inside its receive callback, where a JSON error ends the receive
    loop and leaves the connection silently dead; count the frame and go on instead."""

    def handle(data: Any) -> None:
        if isinstance(data, bytes):
            data = data.decode(errors="replace")
        if isinstance(data, str) and data[:1] in ("{", "["):
            try:
                data = ws_json.loads(data)
            except ValueError:
                on_malformed(data[:200])
                return
        ws.on_message_callback(ws, data)

    return handle


def retry_after(exchange: Any) -> float | None:
    """Seconds the venue asked us to wait in its last HTTP answer, if it said."""
    headers = getattr(exchange, "last_response_headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
