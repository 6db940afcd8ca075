"""HTTP emulators of the Ollama, Groq and Anthropic APIs, the only fakes the tests use: the real
SDK clients reach them through their `host` / `base_url`. Bodies follow each provider's wire
format; usage is counted from the actual request (one token per four bytes, rounded up); a
system prompt seen before is reported as cached, as the providers' prompt caches would.

Each provider answers from a script of behaviours (`script[provider]`, consumed in order, then
`default[provider]`): ok, slow, hang, rate_limited (429 + retry-after), overloaded (529),
overloaded_body (500 whose body says overloaded_error), server_error (503), malformed (the
answer is not JSON), schema (JSON that breaks the answer's schema), broken (the HTTP body itself
is not JSON)."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PROVIDERS = ("ollama", "groq", "anthropic")


def tokens(text: str) -> int:
    return math.ceil(len(text.encode()) / 4)


@dataclass
class Behaviour:
    kind: str = "ok"
    #: The answer the model gives (filtered to the properties the request's schema has).
    answer: dict[str, Any] | None = None
    delay: float = 0.0
    retry_after: float = 1.0


DEFAULT_ANSWER: dict[str, Any] = {
    "action": "trade",
    "confidence": 0.95,
    "rationale": "edge clears fees",
    "max_size": 1.0,
}


@dataclass
class Emulator:
    port: int = 0
    script: defaultdict[str, deque[Behaviour]] = field(default_factory=lambda: defaultdict(deque))
    default: dict[str, Behaviour] = field(
        default_factory=lambda: {name: Behaviour() for name in PROVIDERS}
    )
    #: Per model: the answer it gives when its behaviour names none.
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: (provider, model, usage as the provider reported it) of every answered request.
    usages: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    seen_system: set[tuple[str, str]] = field(default_factory=set)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, provider: str) -> int:
        return sum(1 for name, _ in self.requests if name == provider)

    async def start(self) -> Emulator:
        app = web.Application()
        app.router.add_get("/api/tags", self.tags)
        app.router.add_post("/api/chat", self.ollama)
        app.router.add_post("/openai/v1/chat/completions", self.groq)
        app.router.add_post("/v1/messages", self.anthropic)
        # Handlers stop when their client goes (a hang ends with it), and stopping waits for none.
        self.runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    # -- behaviour ------------------------------------------------------------------------------

    def _next(self, provider: str) -> Behaviour:
        queue = self.script[provider]
        return queue.popleft() if queue else self.default[provider]

    async def _fault(self, provider: str, behaviour: Behaviour) -> web.Response | None:
        """The faulty response for this behaviour, or None to answer normally."""
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        kind = behaviour.kind
        if kind == "hang":
            await asyncio.sleep(3600)
        if kind == "rate_limited":
            return _error(
                provider, 429, "rate_limit_error", {"retry-after": str(behaviour.retry_after)}
            )
        if kind == "overloaded":
            return _error(provider, 529, "overloaded_error")
        if kind == "overloaded_body":
            return _error(provider, 500, "overloaded_error")
        if kind == "server_error":
            return _error(provider, 503, "api_error")
        if kind == "broken":
            return web.Response(text="{not json", content_type="application/json")
        return None

    def _content(self, model: str, behaviour: Behaviour, properties: set[str] | None) -> Any:
        if behaviour.kind == "malformed":
            return "I think you should trade."
        if behaviour.kind == "schema":
            return {"action": "maybe", "confidence": 7}
        answer = behaviour.answer or self.answers.get(model) or DEFAULT_ANSWER
        if properties is not None:
            answer = {key: value for key, value in answer.items() if key in properties}
        return answer

    def _cached(self, provider: str, system: str) -> bool:
        seen = (provider, system) in self.seen_system
        self.seen_system.add((provider, system))
        return seen

    # -- the three APIs -------------------------------------------------------------------------

    async def tags(self, request: web.Request) -> web.Response:
        names = sorted({*self.answers, "llama3.1:8b", "mistral:7b"})
        models = [
            {
                "name": name,
                "model": name,
                "modified_at": "2026-12-01T00:00:00Z",
                "size": 4_000_000_000,
                "digest": uuid.uuid4().hex,
                "details": {"format": "gguf", "family": "llama", "parameter_size": "8B"},
            }
            for name in names
        ]
        return web.json_response({"models": models})

    async def ollama(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(("ollama", body))
        behaviour = self._next("ollama")
        fault = await self._fault("ollama", behaviour)
        if fault is not None:
            return fault
        schema = body.get("format")
        properties = set(schema["properties"]) if isinstance(schema, dict) else None
        content = self._content(body["model"], behaviour, properties)
        text = content if isinstance(content, str) else json.dumps(content)
        prompt = sum(tokens(message["content"]) for message in body["messages"])
        usage = {"prompt_eval_count": prompt, "eval_count": tokens(text)}
        self.usages.append(("ollama", body["model"], usage))
        return web.json_response(
            {
                "model": body["model"],
                "created_at": "2026-12-03T00:00:00Z",
                "message": {"role": "assistant", "content": text},
                "done": True,
                "done_reason": "stop",
                "total_duration": 1_000_000,
                "load_duration": 1000,
                "prompt_eval_duration": 1000,
                "eval_duration": 1000,
                **usage,
            }
        )

    async def groq(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(("groq", body))
        behaviour = self._next("groq")
        fault = await self._fault("groq", behaviour)
        if fault is not None:
            return fault
        content = self._content(body["model"], behaviour, None)
        text = content if isinstance(content, str) else json.dumps(content)
        messages = body["messages"]
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        cached = tokens(system) if self._cached("groq", system) else 0
        prompt = sum(tokens(message["content"]) for message in messages)
        completion = min(tokens(text), body.get("max_tokens") or 10**9)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
        self.usages.append(("groq", body["model"], usage))
        return web.json_response(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": usage,
            }
        )

    async def anthropic(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(("anthropic", body))
        behaviour = self._next("anthropic")
        fault = await self._fault("anthropic", behaviour)
        if fault is not None:
            return fault
        tool = body["tools"][0]
        content = self._content(body["model"], behaviour, set(tool["input_schema"]["properties"]))
        blocks: list[dict[str, Any]]
        if isinstance(content, str):
            blocks = [{"type": "text", "text": content}]
            text = content
        else:
            blocks = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{uuid.uuid4().hex[:20]}",
                    "name": tool["name"],
                    "input": content,
                }
            ]
            text = json.dumps(content)
        system = "".join(block["text"] for block in body.get("system", []))
        cached = any("cache_control" in block for block in body.get("system", []))
        cache_read = cache_write = 0
        if cached and self._cached("anthropic", system):
            cache_read = tokens(system)
        elif cached:
            cache_write = tokens(system)
        # input_tokens excludes what was read from or written to the cache.
        fresh = sum(tokens(json.dumps(m["content"])) for m in body["messages"])
        fresh += tokens(json.dumps(body["tools"]))
        usage = {
            "input_tokens": fresh + (0 if cached else tokens(system)),
            "output_tokens": min(tokens(text), body["max_tokens"]),
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_write,
        }
        self.usages.append(("anthropic", body["model"], usage))
        return web.json_response(
            {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": blocks,
                "stop_reason": "tool_use" if blocks[0]["type"] == "tool_use" else "end_turn",
                "stop_sequence": None,
                "usage": usage,
            }
        )


def _error(
    provider: str, status: int, kind: str, headers: dict[str, str] | None = None
) -> web.Response:
    if provider == "anthropic":
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": kind}}
    elif provider == "groq":
        body = {"error": {"message": kind, "type": kind}}
    else:
        body = {"error": kind}
    return web.json_response(body, status=status, headers=headers)


@contextmanager
def emulator_thread(setup: Callable[[Emulator], None] = lambda _: None) -> Iterator[Emulator]:
    """An emulator on its own event loop in a thread, for tests that drive daemon processes."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = Emulator()
    setup(server)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
