"""One way to ask each provider for a JSON answer through its official SDK, and one error type
for everything that can go wrong on the way (the ladder treats them alike: breaker, next rung).

Every request has an explicit timeout and no SDK retries: the ladder has a deadline to keep, and
a retry is the governor's business (each is a separately reserved call)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

import anthropic
import groq
import httpx
import ollama

from arbiter.governor.pricing import Usage


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    usage: Usage


class ProviderError(Exception):
    """`kind`: rate_limited, overloaded, server_error, timeout, unreachable, bad_response,
    refused (4xx other than 429). `billed`: whether the input may have been charged."""

    def __init__(self, kind: str, detail: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.retry_after = retry_after

    @property
    def billed(self) -> bool:
        # A timed-out request may have been processed; an error response is not charged.
        return self.kind == "timeout"


class Provider(Protocol):
    name: str
    #: Tokens the provider adds around our text (tool definitions, chat template), at most.
    overhead_tokens: int

    async def complete(
        self, model: str, system: str, user: str, schema: dict[str, Any], max_tokens: int
    ) -> Completion: ...

    async def close(self) -> None: ...


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return float(headers["retry-after"])
    except (KeyError, ValueError):
        return None


def _status_error(status: int, body: object, headers: Mapping[str, str]) -> ProviderError:
    text = json.dumps(body) if not isinstance(body, str) else body
    if status == 429:
        return ProviderError("rate_limited", text[:200], _retry_after(headers))
    # Anthropic says overloaded with 529, and sometimes only in the error body.
    if status == 529 or "overloaded_error" in text:
        return ProviderError("overloaded", text[:200], _retry_after(headers))
    if status >= 500:
        return ProviderError("server_error", f"{status} {text[:200]}")
    return ProviderError("refused", f"{status} {text[:200]}")


def _sdk_error(sdk: ModuleType, error: Exception) -> Exception:
    """Groq's and Anthropic's SDKs share one generated exception tree; this maps it. Anything
    else is not ours to translate and is returned as it is."""
    if isinstance(error, sdk.APITimeoutError):
        return ProviderError("timeout", f"{sdk.__name__} request timed out")
    if isinstance(error, sdk.APIConnectionError):
        return ProviderError("unreachable", str(error))
    if isinstance(error, sdk.APIStatusError):
        return _status_error(error.status_code, error.body, error.response.headers)
    if isinstance(error, sdk.APIError | ValueError):
        # ValueError: a body that is not JSON, which the SDKs do not wrap.
        return ProviderError("bad_response", repr(error)[:200])
    return error


class OllamaProvider:
    """Local models: no per-token cost. Answers are constrained by Ollama's JSON-schema format."""

    name = "ollama"
    overhead_tokens = 64

    def __init__(self, host: str, timeout: float) -> None:
        self.timeout = timeout
        # The client's own default is no timeout at all.
        self.client = ollama.AsyncClient(host=host, timeout=timeout)

    async def complete(
        self, model: str, system: str, user: str, schema: dict[str, Any], max_tokens: int
    ) -> Completion:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.client.chat(
                    model=model,
                    messages=messages,
                    format=schema,
                    options={"temperature": 0, "num_predict": max_tokens},
                )
        except TimeoutError:
            raise ProviderError("timeout", f"no answer in {self.timeout} s") from None
        except ollama.ResponseError as error:
            raise _status_error(error.status_code, error.error, {}) from None
        except ConnectionError as error:
            raise ProviderError("unreachable", str(error)) from None
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderError("bad_response", repr(error)[:200]) from None
        usage = Usage(response.prompt_eval_count or 0, response.eval_count or 0)
        return Completion(response.message.content or "", usage)

    async def models(self) -> list[str]:
        """The models the server has; raises ProviderError if it cannot be reached."""
        try:
            async with asyncio.timeout(self.timeout):
                listed = await self.client.list()
        except TimeoutError:
            raise ProviderError("timeout", f"no answer in {self.timeout} s") from None
        except ConnectionError as error:
            raise ProviderError("unreachable", str(error)) from None
        except (ollama.ResponseError, httpx.HTTPError, ValueError) as error:
            raise ProviderError("bad_response", repr(error)[:200]) from None
        return [model.model or "" for model in listed.models]

    async def close(self) -> None:
        await self.client.close()  # type: ignore[no-untyped-call]  # untyped in ollama


class GroqProvider:
    """Groq's OpenAI-compatible chat completions in JSON mode; the answer is validated by us."""

    name = "groq"
    overhead_tokens = 64

    def __init__(self, api_key: str, base_url: str | None, timeout: float) -> None:
        self.client = groq.AsyncGroq(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def close(self) -> None:
        await self.client.close()

    async def complete(
        self, model: str, system: str, user: str, schema: dict[str, Any], max_tokens: int
    ) -> Completion:
        schema_text = json.dumps(schema, separators=(",", ":"))
        try:
            response = await self.client.chat.completions.create(
                model=model,
                messages=[
                    {"role": "system", "content": f"{system}\nJSON schema: {schema_text}"},
                    {"role": "user", "content": user},
                ],
                response_format={"type": "json_object"},
                max_tokens=max_tokens,
                temperature=0,
            )
        except Exception as error:
            raise _sdk_error(groq, error) from None
        if not response.choices or response.usage is None:
            raise ProviderError("bad_response", "no choices or no usage")
        usage = response.usage
        details = usage.prompt_tokens_details
        return Completion(
            response.choices[0].message.content or "",
            Usage.openai_style(
                usage.prompt_tokens,
                usage.completion_tokens,
                details.cached_tokens if details else None,
            ),
        )


class AnthropicProvider:
    """Anthropic's messages API, the answer forced through a tool whose input is our schema."""

    name = "anthropic"
    # Tool use adds a system prompt of a few hundred tokens on Anthropic's side.
    overhead_tokens = 600

    def __init__(self, api_key: str, base_url: str | None, timeout: float) -> None:
        self.client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0
        )

    async def close(self) -> None:
        await self.client.close()

    async def complete(
        self, model: str, system: str, user: str, schema: dict[str, Any], max_tokens: int
    ) -> Completion:
        try:
            message = await self.client.messages.create(
                model=model,
                max_tokens=max_tokens,
                system=[{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": user}],
                tools=[{"name": "answer", "description": "Your answer.", "input_schema": schema}],
                tool_choice={"type": "tool", "name": "answer"},
            )
        except Exception as error:
            raise _sdk_error(anthropic, error) from None
        answers = [block.input for block in message.content if block.type == "tool_use"]
        text = json.dumps(answers[0]) if answers else ""
        usage = message.usage
        return Completion(
            text,
            Usage.anthropic(
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_input_tokens,
                usage.cache_creation_input_tokens,
            ),
        )
