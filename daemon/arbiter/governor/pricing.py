"""What a call costs: per-model token prices from `pricing.toml`, and each provider's usage
report normalised to the four kinds of token that are priced differently."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arbiter.errors import ConfigError
from arbiter.money import ZERO, money
from arbiter.tomlfile import first_problem, read_toml

PER_TOKENS = Decimal(1_000_000)
#: Providers whose models run on our own machine: no per-token cost.
LOCAL_PROVIDERS = frozenset({"ollama"})


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: Decimal = Field(ge=0)
    output: Decimal = Field(ge=0)
    cache_read: Decimal | None = Field(default=None, ge=0)
    cache_write: Decimal | None = Field(default=None, ge=0)
    source: str = Field(min_length=1)
    date: str = Field(min_length=1)


class LocalCosts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    electricity_monthly: Decimal = Field(default=ZERO, ge=0)


class PricingFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    local: LocalCosts = LocalCosts()
    models: dict[str, ModelPrice]


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one call, each kind counted once: `input` excludes cache reads and writes."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @classmethod
    def anthropic(
        cls, input_tokens: int, output_tokens: int, cache_read: int | None, cache_write: int | None
    ) -> Usage:
        # Anthropic's input_tokens already excludes the cached parts.
        return cls(input_tokens, output_tokens, cache_read or 0, cache_write or 0)

    @classmethod
    def openai_style(cls, prompt_tokens: int, completion_tokens: int, cached: int | None) -> Usage:
        # Groq (OpenAI-compatible): prompt_tokens includes the cached tokens.
        cached = cached or 0
        return cls(prompt_tokens - cached, completion_tokens, cached, 0)


class Pricing:
    def __init__(self, document: PricingFile) -> None:
        self.models = document.models
        self.electricity_monthly = document.local.electricity_monthly

    def price(self, provider: str, model: str) -> ModelPrice | None:
        """None for a local model; KeyError for a paid model with no price (refuse to guess)."""
        if provider in LOCAL_PROVIDERS:
            return None
        return self.models[f"{provider}:{model}"]

    def cost(self, provider: str, model: str, usage: Usage) -> Decimal:
        price = self.price(provider, model)
        if price is None:
            return ZERO
        read = price.input if price.cache_read is None else price.cache_read
        write = price.input if price.cache_write is None else price.cache_write
        with money():
            return (
                usage.input * price.input
                + usage.output * price.output
                + usage.cache_read * read
                + usage.cache_write * write
            ) / PER_TOKENS

    def worst_case(
        self, provider: str, model: str, input_tokens: int, output_tokens: int
    ) -> Decimal:
        """The most a call can cost: every input token at the dearest input rate."""
        price = self.price(provider, model)
        if price is None:
            return ZERO
        dearest = max(
            p for p in (price.input, price.cache_read, price.cache_write) if p is not None
        )
        with money():
            return (input_tokens * dearest + output_tokens * price.output) / PER_TOKENS

    def input_cost(self, provider: str, model: str, input_tokens: int) -> Decimal:
        """What a cancelled call is assumed to have cost: its input, at the uncached rate."""
        price = self.price(provider, model)
        if price is None:
            return ZERO
        with money():
            return input_tokens * price.input / PER_TOKENS


def load_pricing(path: Path) -> Pricing:
    """Reads `pricing.toml`, or raises ConfigError with one line naming the file and key."""
    try:
        return Pricing(PricingFile(**read_toml(path, "pricing")))
    except ValidationError as error:
        raise ConfigError(f"{path}: {first_problem(error)}") from None
