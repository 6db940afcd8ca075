"""`arbiter sim exchange`: a local server that speaks Binance's public spot, USDⓈ-M and COIN-M
protocols (REST exchangeInfo and depth, websocket diff-depth streams) and replays recordings,
so unmodified ccxt.pro clients sync real books from it.

Websocket paths decide the market as ccxt builds them from the configured URLs:
`/stream/...` spot, `/fapi/...` USDⓈ-M, `/dapi/...` COIN-M.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from arbiter.logging import get_logger
from arbiter.sim.account import Account
from arbiter.sim.faults import Fault
from arbiter.sim.market import Market, MarketKind

METADATA = Path(__file__).resolve().parents[3] / "data" / "binance" / "metadata"
EXCHANGE_INFO = {
    "spot": "api_v3_exchangeInfo_2021-10-12.json",
    "linear": "fapi_v1_exchangeInfo_2021-07-21.json",
    "inverse": "dapi_v1_exchangeInfo_2021-07-21.json",
}
REST_PREFIX: dict[str, MarketKind] = {
    "/api/v3": "spot",
    "/fapi/v1": "linear",
    "/dapi/v1": "inverse",
}
WS_PREFIX: dict[str, MarketKind] = {"/stream": "spot", "/fapi": "linear", "/dapi": "inverse"}
SEND_TIMEOUT = 5.0
MALFORMED = '{"stream":"broken","data":{"e":"depthUpdate","b":[["1.0",'

log = get_logger("arbiter.sim.exchange")


@dataclass(eq=False)
class Subscriber:
    socket: web.WebSocketResponse
    kind: MarketKind
    streams: set[str] = field(default_factory=set)


class Emulator:
    """Replays markets to websocket subscribers and answers REST from the replayed books."""

    def __init__(
        self,
        markets: list[Market],
        speed: float,
        loop: bool,
        wait_subscribers: int = 0,
        account: Account | None = None,
    ) -> None:
        self.markets: dict[MarketKind, Market] = {m.kind: m for m in markets}
        if len(self.markets) != len(markets):
            raise ValueError("one recording per market kind (spot, linear, inverse)")
        loop_ms = max(m.loop_ms for m in markets)
        for market in markets:
            market.loop_ms = loop_ms
        self.speed = speed
        self.loop = loop
        self.finished = False
        self.lag_ms = 0.0
        self.subscribers: set[Subscriber] = set()
        self.frozen_until: dict[MarketKind, float] = {}
        self.rest_errors: list[list[int]] = []  # [status, remaining]
        self.rest_requests: Counter[str] = Counter()
        self.rest_log: deque[tuple[float, str, int]] = deque(maxlen=200)
        self.connections = 0
        self.wait_subscribers = wait_subscribers
        self.subscribed = asyncio.Event()
        self.account = account

    # -- replay -----------------------------------------------------------------------------

    async def replay(self) -> None:
        await self.subscribed.wait()
        start_ms = min(m.next_event_ms for m in self.markets.values())
        start = time.monotonic()
        while True:
            live = [m for m in self.markets.values() if not m.at_end]
            if not live:
                if not self.loop:
                    self.finished = True
                    sent = {m.kind: m.sent for m in self.markets.values()}
                    log.info("replay_finished", sent=sent)
                    return
                for market in self.markets.values():
                    await self._broadcast(market, market.loop())
                continue
            market = min(live, key=lambda m: m.next_event_ms)
            if self.speed > 0:
                due = start + (market.next_event_ms - start_ms) / 1000 / self.speed
                delay = due - time.monotonic()
                self.lag_ms = max(self.lag_ms, -delay * 1000)
                await asyncio.sleep(max(delay, 0))
            else:
                await asyncio.sleep(0)
            await self._broadcast(market, market.advance())

    async def _broadcast(self, market: Market, message: str) -> None:
        if self.frozen_until.get(market.kind, 0) > time.monotonic():
            return
        for subscriber in [s for s in self.subscribers if s.kind == market.kind]:
            if market.stream in subscriber.streams:
                await self._send(subscriber, message)

    async def _send(self, subscriber: Subscriber, message: str) -> None:
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await subscriber.socket.send_str(message)
        except (TimeoutError, ConnectionError, RuntimeError):
            # A consumer that cannot keep up is cut off, as Binance does.
            self.subscribers.discard(subscriber)
            await subscriber.socket.close()

    # -- faults -----------------------------------------------------------------------------

    async def inject(self, fault: Fault) -> None:
        log.warning("fault_injected", fault=fault.kind, market=fault.market)
        kinds = [k for k in self.markets if fault.market in (None, k)]
        if fault.kind == "drop":
            for subscriber in [s for s in self.subscribers if s.kind in kinds]:
                self.subscribers.discard(subscriber)
                await subscriber.socket.close()
        elif fault.kind == "gap":
            for kind in kinds:
                self.markets[kind].pending_gap += fault.count
        elif fault.kind == "freeze":
            for kind in kinds:
                self.frozen_until[kind] = time.monotonic() + fault.seconds
        elif fault.kind == "malformed":
            for subscriber in [s for s in self.subscribers if s.kind in kinds]:
                for _ in range(fault.count):
                    await self._send(subscriber, MALFORMED)
        else:
            self.rest_errors.append([fault.status, fault.count])

    async def run_schedule(self, faults: list[Fault]) -> None:
        start = time.monotonic()
        for fault in sorted(faults, key=lambda f: f.at):
            await asyncio.sleep(max(0.0, start + fault.at - time.monotonic()))
            await self.inject(fault)

    # -- HTTP -------------------------------------------------------------------------------

    @web.middleware
    async def rest_faults(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/admin") or request.headers.get("Upgrade"):
            response: web.StreamResponse = await handler(request)
            return response
        self.rest_requests[request.path] += 1
        if self.rest_errors:
            status, remaining = self.rest_errors[0]
            if remaining <= 1:
                self.rest_errors.pop(0)
            else:
                self.rest_errors[0][1] -= 1
            headers = {"Retry-After": "1"} if status in (418, 429) else {}
            body = {"code": -1003, "msg": "Too many requests; emulated."}
            self.rest_log.append((time.time(), request.path, status))
            return web.json_response(body, status=status, headers=headers)
        response = await handler(request)
        self.rest_log.append((time.time(), request.path, response.status))
        return response

    async def exchange_info(self, request: web.Request) -> web.Response:
        kind = REST_PREFIX[request.path.rsplit("/", 1)[0]]
        return web.Response(
            text=(METADATA / EXCHANGE_INFO[kind]).read_text(), content_type="application/json"
        )

    async def depth(self, request: web.Request) -> web.Response:
        kind = REST_PREFIX[request.path.rsplit("/", 1)[0]]
        market = self.markets.get(kind)
        if market is None or request.query.get("symbol") != market.symbol:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        limit = int(request.query.get("limit", "100"))
        return web.json_response(market.depth(limit))

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        kind = next((k for prefix, k in WS_PREFIX.items() if request.path.startswith(prefix)), None)
        if kind is None or request.headers.get("Upgrade", "").lower() != "websocket":
            log.warning("unknown_path", path=request.path)
            raise web.HTTPNotFound()
        socket = web.WebSocketResponse(heartbeat=None)
        await socket.prepare(request)
        subscriber = Subscriber(socket, kind)
        self.connections += 1
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    await self._handle_request(subscriber, message.data)
        finally:
            self.subscribers.discard(subscriber)
        return socket

    async def _handle_request(self, subscriber: Subscriber, text: str) -> None:
        try:
            request = json.loads(text)
            method, streams, request_id = request["method"], request["params"], request["id"]
        except (ValueError, KeyError, TypeError):
            await subscriber.socket.send_json({"error": {"code": 2, "msg": "Invalid request"}})
            return
        if method == "SUBSCRIBE":
            subscriber.streams.update(streams)
            self.subscribers.add(subscriber)
            if len(self.subscribers) >= self.wait_subscribers:
                self.subscribed.set()
        elif method == "UNSUBSCRIBE":
            subscriber.streams.difference_update(streams)
        await subscriber.socket.send_json({"result": None, "id": request_id})

    async def private(self, request: web.Request) -> web.Response:
        """Signed spot endpoints, when the emulator was given an account."""
        if self.account is None or "spot" not in self.markets:
            return web.json_response({"code": -2015, "msg": "No account here."}, status=401)
        raw = await request.text() if request.method == "POST" else request.query_string
        params = self.account.authenticate(request, raw)
        if isinstance(params, web.Response):
            return params
        endpoint = request.path.rsplit("/", 1)[1]
        if endpoint == "account":
            return web.json_response(self.account.account())
        if endpoint == "openOrders":
            return web.json_response([])  # market and IOC orders never rest
        if request.method == "POST":
            return self.account.place(self.markets["spot"], params)
        return self.account.order(params)

    async def admin_fault(self, request: web.Request) -> web.Response:
        try:
            fault = Fault(**await request.json())
        except (ValueError, TypeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        await self.inject(fault)
        return web.json_response({"injected": fault.kind})

    async def admin_state(self, _request: web.Request) -> web.Response:
        return web.json_response(self.state())

    def state(self) -> dict[str, Any]:
        return {
            "finished": self.finished,
            "lag_ms": round(self.lag_ms, 1),
            "connections": self.connections,
            "subscribers": len(self.subscribers),
            "rest_requests": dict(self.rest_requests),
            "rest_log": list(self.rest_log),
            "account": None
            if self.account is None
            else {asset: str(amount) for asset, amount in self.account.balances.items()},
            "markets": {
                kind: {"symbol": m.symbol, "sent": m.sent, "last_id": m.last_id, "loops": m.loops}
                for kind, m in self.markets.items()
            },
        }

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.rest_faults])
        for prefix in REST_PREFIX:
            app.router.add_get(f"{prefix}/exchangeInfo", self.exchange_info)
            app.router.add_get(f"{prefix}/depth", self.depth)
        app.router.add_get("/api/v3/account", self.private)
        app.router.add_get("/api/v3/openOrders", self.private)
        app.router.add_get("/api/v3/order", self.private)
        app.router.add_post("/api/v3/order", self.private)
        app.router.add_post("/admin/fault", self.admin_fault)
        app.router.add_get("/admin/state", self.admin_state)
        app.router.add_get("/{path:.*}", self.websocket)
        return app


async def serve(
    data: list[Path],
    *,
    port: int,
    speed: float,
    loop: bool,
    faults: list[Fault],
    wait_subscribers: int = 0,
    account: Account | None = None,
) -> None:
    """Runs the emulator until cancelled; prints the address it listens on."""
    markets = [Market.load(path) for path in data]
    emulator = Emulator(markets, speed, loop, wait_subscribers, account)
    runner = web.AppRunner(emulator.app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"emulator listening on http://127.0.0.1:{bound}", flush=True)
    log.info("emulator_started", port=bound, markets=sorted(emulator.markets), speed=speed)
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(emulator.replay(), name="replay")
            tasks.create_task(emulator.run_schedule(faults), name="faults")
            await asyncio.Event().wait()
    finally:
        await runner.cleanup()
