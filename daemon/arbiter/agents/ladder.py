"""The escalation ladder. A decision the rules are sure enough of is settled by the rules. Else
it climbs: the local risk and signal agents (free), then, where the tier has them, the governor
allows them and they can afford it, the cheap cloud and premium coordinators. The first answer
confident enough settles it; if none is, the most conservative answer given wins; if nobody
answers, or the deadline passes, the rules decide. The daemon never waits on AI to keep trading.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from arbiter.agents.answers import Prompt, Question, SizedVerdict, Verdict, input_tokens
from arbiter.agents.breaker import Breaker
from arbiter.agents.providers import (
    AnthropicProvider,
    GroqProvider,
    OllamaProvider,
    Provider,
    ProviderError,
)
from arbiter.config import Settings
from arbiter.decisions import Decision
from arbiter.execution.orders import now_ms
from arbiter.governor.budget import RUNGS
from arbiter.governor.governor import BudgetRefusedError, Governor
from arbiter.governor.ledger import Ledger
from arbiter.governor.pricing import load_pricing
from arbiter.logging import get_logger

log = get_logger("arbiter.agents")

RISK = Prompt.load("risk", "v1", SizedVerdict)
SIGNAL = Prompt.load("signal", "v1", Verdict)
COORDINATOR = Prompt.load("coordinator", "v1", SizedVerdict)
#: Why the AI cannot help: the value of `ai_unavailable`'s reason.
DISABLED, UNREACHABLE, BUDGET = "disabled", "unreachable", "budget"


@dataclass(frozen=True, slots=True)
class Ruling:
    action: str
    #: Share of the proposed stake to trade.
    size: Decimal
    rung: str
    confidence: float
    rationale: str

    @classmethod
    def of(cls, rung: str, verdict: Verdict) -> Ruling:
        size = Decimal(str(verdict.max_size)) if isinstance(verdict, SizedVerdict) else Decimal(1)
        return cls(verdict.action, size, rung, verdict.confidence, verdict.rationale)


@dataclass(frozen=True, slots=True)
class Agent:
    """Who is asked: on which rung, through which provider, which model, with which prompt."""

    rung: str
    provider: str
    model: str
    prompt: Prompt


@dataclass(slots=True)
class _Attempt:
    """What one climb ran into, for the availability state."""

    reached: bool = False
    refused_by_budget: bool = False


def providers_from(settings: Settings) -> dict[str, Provider]:
    """Every provider that can be reached: Ollama always (it may be down), cloud ones only with
    an API key."""
    ai = settings.ai
    providers: dict[str, Provider] = {"ollama": OllamaProvider(ai.ollama_host, ai.local_timeout)}
    if ai.groq.api_key is not None:
        key = ai.groq.api_key.get_secret_value()
        providers["groq"] = GroqProvider(key, ai.groq.base_url, ai.groq.timeout)
    if ai.anthropic.api_key is not None:
        key = ai.anthropic.api_key.get_secret_value()
        providers["anthropic"] = AnthropicProvider(key, ai.anthropic.base_url, ai.anthropic.timeout)
    return providers


def ledger_path(settings: Settings) -> Path:
    return settings.state_dir / f"{settings.mode}.ai.sqlite"


def build_ladder(
    settings: Settings,
    *,
    equity: Callable[[], Decimal | None],
    today_profit: Callable[[], Decimal],
) -> Ladder:
    """The ladder with its governor, ledger and providers, as the configuration says."""
    governor = Governor(
        settings.ai,
        load_pricing(settings.ai.pricing_file),
        Ledger(ledger_path(settings)),
        equity=equity,
        today_profit=today_profit,
    )
    return Ladder(settings, governor, providers_from(settings))


class Ladder:
    def __init__(
        self, settings: Settings, governor: Governor, providers: dict[str, Provider]
    ) -> None:
        self.settings = settings
        self.ai = settings.ai
        self.governor = governor
        self.providers = providers
        self.breakers = {
            name: Breaker(self.ai.breaker_failures, self.ai.breaker_cooldown) for name in providers
        }
        #: None while some AI answers; else why not. Logged only when it changes.
        self.unavailable: str | None = None
        self._state_known = False

    async def start(self) -> None:
        """Says at once whether any AI can be reached, rather than at the first decision."""
        if not self.ai.enabled:
            self._availability(DISABLED, detail="ai.enabled = false")
            return
        ollama = self.providers["ollama"]
        assert isinstance(ollama, OllamaProvider)
        try:
            models = await ollama.models()
        except ProviderError as error:
            self.breakers["ollama"].failed(error.kind, error.retry_after)
            if len(self.providers) == 1:
                self._availability(UNREACHABLE, detail=f"ollama {error.kind}, no API keys")
            return
        missing = sorted({self.ai.risk_model, self.ai.signal_model} - set(models))
        if missing:
            log.warning("ai_models_missing", provider="ollama", models=missing)
        self._availability(None)

    async def close(self) -> None:
        for provider in self.providers.values():
            await provider.close()
        self.governor.ledger.close()

    # -- the rules ----------------------------------------------------------------------------

    def question(self, decision: Decision) -> Question:
        rules = self.rules_confidence(decision)
        needed = self.needed(decision)
        facts: dict[str, Any] = {
            "kind": decision.kind,
            "tier": decision.tier,
            "legs": decision.legs_as_json(),
            "expected_profit": str(decision.expected_profit),
            "profit_bps": round(decision.profit_bps, 2),
            # In steps, so that a replay of the same data asks the same question.
            "persisted_ms_at_least": decision.persistence_ms // 250 * 250,
            "stake": str(decision.stake),
            "rules": {"action": "trade", "confidence": round(rules, 3)},
            "signal_flat": None if decision.signal_flat is None else round(decision.signal_flat, 3),
            "needed_confidence": round(needed, 3),
        }
        return Question(decision.id, facts, needed, decision.critical, decision.expected_profit)

    def rules_confidence(self, decision: Decision) -> float:
        """How much of the edge survives if the costs are off by the minimum margin again; or,
        if higher, the signal's confidence that the books stay flat meanwhile: rules and model
        agreeing with confidence need no LLM."""
        floor = self.settings.strategy.min_profit_bps
        if decision.profit_bps <= 0:
            return 0.0
        rules = max(0.0, min(1.0, 1 - floor / decision.profit_bps))
        return max(rules, decision.signal_flat or 0.0)

    def needed(self, decision: Decision) -> float:
        """The confidence a decision needs grows with its stake."""
        if decision.critical:
            return self.ai.critical_confidence
        stake = float(decision.stake / self.settings.risk.max_order_notional)
        return min(1.0, self.ai.needed_confidence + self.ai.stake_confidence * min(1.0, stake))

    def rules_ruling(self, decision: Decision, why: str) -> Ruling:
        return Ruling("trade", Decimal(1), "rules", self.rules_confidence(decision), why)

    # -- the climb ----------------------------------------------------------------------------

    async def decide(self, decision: Decision) -> Ruling:
        rules = self.rules_ruling(decision, "rules")
        if not self.ai.enabled:
            self._availability(DISABLED, detail="ai.enabled = false")
            return rules
        if rules.confidence >= self.needed(decision):
            return rules
        question = self.question(decision)
        attempt = _Attempt()
        try:
            async with asyncio.timeout(self.ai.deadline_ms / 1000):
                ruling = await self._climb(question, rules, attempt)
        except TimeoutError:
            log.info("ai_deadline", id=decision.id, deadline_ms=self.ai.deadline_ms)
            return self.rules_ruling(decision, "deadline")
        if attempt.reached:
            self._availability(None)
        elif ruling.rung == "rules":
            self._availability(BUDGET if attempt.refused_by_budget else UNREACHABLE)
        return ruling

    async def _climb(self, question: Question, rules: Ruling, attempt: _Attempt) -> Ruling:
        answers: list[tuple[str, Verdict]] = []
        risk, signal = await asyncio.gather(
            self._ask(Agent("local", "ollama", self.ai.risk_model, RISK), question, attempt),
            self._ask(Agent("local", "ollama", self.ai.signal_model, SIGNAL), question, attempt),
        )
        answers += [("local", verdict) for verdict in (risk, signal) if verdict is not None]
        if (
            risk is not None
            and signal is not None
            and risk.action == signal.action
            and min(risk.confidence, signal.confidence) >= question.needed
        ):
            agreed = Ruling.of("local", risk)
            return replace(
                agreed,
                confidence=min(risk.confidence, signal.confidence),
                rationale=f"{risk.rationale} / {signal.rationale}",
            )
        views = {"local_answers": [verdict.model_dump() for _, verdict in answers]}
        budget = self.governor.budget()
        for rung in self.governor.paid_rungs():
            chosen = budget.model(rung)
            assert chosen is not None
            provider, model = chosen
            if provider not in self.providers:
                continue
            verdict = await self._ask(
                Agent(rung, provider, model, COORDINATOR), question, attempt, views
            )
            if verdict is None:
                continue
            answers.append((rung, verdict))
            if verdict.confidence >= question.needed:
                return Ruling.of(rung, verdict)
        return self._consensus(answers, rules)

    @staticmethod
    def _consensus(answers: list[tuple[str, Verdict]], rules: Ruling) -> Ruling:
        """Nobody was sure enough: the most conservative answer given."""
        if not answers:
            return rules
        top = max((rung for rung, _ in answers), key=RUNGS.index)
        verdicts = [verdict for _, verdict in answers]
        skips = [verdict for verdict in verdicts if verdict.action == "skip"]
        if skips:
            confidence = max(verdict.confidence for verdict in skips)
            return Ruling("skip", Decimal(0), top, confidence, "consensus: a skip outweighs")
        sizes = [Decimal(str(v.max_size)) for v in verdicts if isinstance(v, SizedVerdict)]
        confidence = min(verdict.confidence for verdict in verdicts)
        return Ruling("trade", min(sizes, default=Decimal(1)), top, confidence, "consensus")

    async def _ask(
        self,
        agent: Agent,
        question: Question,
        attempt: _Attempt,
        extra: dict[str, Any] | None = None,
    ) -> Verdict | None:
        """One agent's answer: from the cache, or asked if allowed and affordable; None when it
        abstains, fails or may not be asked."""
        text = question.text(extra)
        key = question.cache_key(agent.prompt, agent.model, text)
        cached = self.governor.ledger.answer(key)
        if cached is not None:
            attempt.reached = True
            return agent.prompt.answer.model_validate_json(cached)
        if agent.rung != "local":
            provider = self.providers[agent.provider]
            tokens = input_tokens(agent.prompt.text, text) + provider.overhead_tokens
            worst = self.governor.worst_case(agent.provider, agent.model, tokens)
            refusal = self.governor.refusal(
                agent.rung, worst, question.needed, question.expected_profit
            )
            if refusal is not None:
                log.debug("ai_rung_skipped", rung=agent.rung, reason=refusal)
                return None
        verdict = await self._ask_twice(agent, question, text, attempt)
        if verdict is not None:
            self.governor.ledger.remember_answer(key, verdict.model_dump_json(), now_ms())
        return verdict

    async def _ask_twice(
        self, agent: Agent, question: Question, text: str, attempt: _Attempt
    ) -> Verdict | None:
        """Asks; an invalid answer is asked again once with the problem, then abstained."""
        breaker = self.breakers[agent.provider]
        user = text
        for _ in range(2):
            if not breaker.allows():
                return None
            try:
                reply = await self.call(agent, question, user)
            except BudgetRefusedError as refused:
                attempt.refused_by_budget = True
                log.info(
                    "ai_budget_refused", rung=agent.rung, model=agent.model, reason=str(refused)
                )
                return None
            except ProviderError as error:
                breaker.failed(error.kind, error.retry_after)
                log.info(
                    "ai_provider_error",
                    provider=agent.provider,
                    model=agent.model,
                    error=str(error),
                )
                return None
            attempt.reached = True
            breaker.succeeded()
            try:
                return agent.prompt.answer.model_validate_json(reply)
            except ValidationError as invalid:
                problem = invalid.errors()[0]["msg"]
                log.info(
                    "ai_answer_invalid",
                    model=agent.model,
                    prompt=agent.prompt.name,
                    problem=problem,
                )
                user = f"{text}\nYour previous answer was invalid ({problem}). Answer again."
        return None

    async def call(self, agent: Agent, question: Question, user: str) -> str:
        """One request under a reservation: settled from usage, or from the input if cut short."""
        provider = self.providers[agent.provider]
        reservation = self.governor.reserve(
            provider=agent.provider,
            model=agent.model,
            rung=agent.rung,
            input_tokens=input_tokens(agent.prompt.text, user) + provider.overhead_tokens,
            critical=question.critical,
            decision_id=question.decision_id,
        )
        try:
            completion = await provider.complete(
                agent.model,
                agent.prompt.text,
                user,
                agent.prompt.schema(),
                self.ai.max_output_tokens,
            )
        except ProviderError as error:
            self.governor.cancel(reservation, billed=error.billed)
            raise
        except asyncio.CancelledError:
            self.governor.cancel(reservation, billed=True)
            raise
        self.governor.settle(reservation, completion.usage)
        return completion.text

    def _availability(self, reason: str | None, detail: str = "") -> None:
        if self._state_known and reason == self.unavailable:
            return
        self._state_known = True
        self.unavailable = reason
        if reason is None:
            log.info("ai_available")
        else:
            log.warning("ai_unavailable", reason=reason, detail=detail or None)
