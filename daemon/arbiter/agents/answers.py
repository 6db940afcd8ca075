"""What the ladder asks and what the agents answer, as plain values. The question is built from
market facts only (no ids, no clocks), so the same market data asks the same question and a
replay is answered from the cache."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["trade", "skip"]


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    confidence: float = Field(ge=0, le=1)
    rationale: str = Field(max_length=400)


class SizedVerdict(Verdict):
    """An answer that may also scale the stake down."""

    max_size: float = Field(ge=0, le=1)


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    version: str
    text: str
    answer: type[Verdict]

    @classmethod
    def load(cls, name: str, version: str, answer: type[Verdict]) -> Prompt:
        text = resources.files("arbiter.agents").joinpath(f"prompts/{name}-{version}.md")
        return cls(name, version, text.read_text(encoding="utf-8"), answer)

    def schema(self) -> dict[str, Any]:
        return self.answer.model_json_schema()


@dataclass(frozen=True, slots=True)
class Question:
    decision_id: str
    facts: dict[str, Any]
    #: The confidence an answer needs to settle the decision.
    needed: float
    critical: bool
    expected_profit: Decimal

    def text(self, extra: dict[str, Any] | None = None) -> str:
        return json.dumps({**self.facts, **(extra or {})}, sort_keys=True, separators=(",", ":"))

    def cache_key(self, prompt: Prompt, model: str, text: str) -> str:
        material = f"{prompt.name}-{prompt.version}\n{model}\n{text}".encode()
        return hashlib.sha256(material).hexdigest()


def input_tokens(*texts: str) -> int:
    """An upper bound on the tokens of these texts: byte-level BPE never spends more than one
    token per byte, and each message adds a few tokens of framing."""
    return sum(len(text.encode()) + 8 for text in texts)
