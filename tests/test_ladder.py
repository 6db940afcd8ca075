"""The escalation ladder through the real Ollama, Groq and Anthropic SDKs against HTTP emulators
of their APIs: every rung, every fallback and every fault class, each within the deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from arbiter.agents.ladder import Ladder, Ruling, providers_from
from arbiter.config import AiSettings, CloudSettings, RiskSettings, Settings, StrategySettings
from arbiter.decisions import Decision, LegPlan
from arbiter.governor.governor import Governor
from arbiter.governor.ledger import Ledger
from arbiter.governor.pricing import Usage
from tests.llm_emulator import Behaviour, Emulator
from tests.test_governor import NOON, PRICES

GROQ, HAIKU = "llama-3.3-70b-versatile", "claude-haiku-4-5"
DEADLINE_MS = 1500


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    server = await Emulator().start()
    yield server
    await server.stop()


class Bench:
    """A ladder at $3,000 equity: local agents, Groq as the cheap rung, Haiku as premium."""

    def __init__(
        self, tmp_path: Path, url: str, *, equity: Decimal, cloud_timeout: float = 0.4, **ai: Any
    ) -> None:
        cloud = CloudSettings(base_url=url, api_key=SecretStr("test-key"), timeout=cloud_timeout)
        options: dict[str, Any] = {
            "ollama_host": url,
            "groq": cloud,
            "anthropic": cloud,
            "deadline_ms": DEADLINE_MS,
            "local_timeout": 0.5,
            **ai,
        }
        self.settings = Settings(
            ai=AiSettings(**options),
            risk=RiskSettings(max_order_notional=Decimal(100)),
            strategy=StrategySettings(min_profit_bps=2.0),
        )
        self.governor = Governor(
            self.settings.ai,
            PRICES,
            Ledger(tmp_path / "ai.sqlite"),
            equity=lambda: equity,
            today_profit=lambda: Decimal(0),
            clock=lambda: NOON,
        )
        self.ladder = Ladder(self.settings, self.governor, providers_from(self.settings))
        self.count = 0

    async def decide(
        self, *, profit_bps: float = 4.0, stake: int = 100, signal_flat: float | None = None
    ) -> Ruling:
        """Rules confidence 1 - 2/profit_bps; needed 0.6 + 0.35 x stake/100."""
        self.count += 1
        decision = Decision(
            id=f"d{self.count}",
            ts_ms=0,
            key="cross|BTC/USDT|a|b",
            kind="cross",
            tier="spot_arbitrage",
            legs=(
                LegPlan("a", "BTC/USDT", "buy", Decimal("0.001"), Decimal(60000)),
                LegPlan("b", "BTC/USDT", "sell", Decimal("0.001"), Decimal(60100)),
            ),
            expected_profit=Decimal(1),
            profit_bps=profit_bps,
            persistence_ms=500,
            stake=Decimal(stake),
            signal_flat=signal_flat,
        )
        started = time.monotonic()
        ruling = await self.ladder.decide(decision)
        # The deadline holds in every run.
        assert time.monotonic() - started < DEADLINE_MS / 1000 + 0.25
        return ruling

    def calls(self) -> list[tuple[str, str, str, Decimal]]:
        rows = self.governor.ledger.db.execute(
            "SELECT provider, rung, state, cost FROM calls ORDER BY id"
        ).fetchall()
        return [(p, r, s, Decimal(c)) for p, r, s, c in rows]

    async def close(self) -> None:
        await self.ladder.close()


@pytest.fixture
async def bench(tmp_path: Path, emulator: Emulator) -> AsyncIterator[Bench]:
    made = Bench(tmp_path, emulator.url, equity=Decimal(3000))
    yield made
    await made.close()


def answer(action: str, confidence: float, size: float = 1.0) -> dict[str, Any]:
    return {"action": action, "confidence": confidence, "rationale": "r", "max_size": size}


# -- the rungs ----------------------------------------------------------------------------------


async def test_rules_settle_what_they_are_sure_of(bench: Bench, emulator: Emulator) -> None:
    ruling = await bench.decide(profit_bps=100)  # confidence 0.98 >= needed 0.95
    assert (ruling.rung, ruling.action) == ("rules", "trade")
    assert emulator.requests == []


async def test_rules_and_a_confident_signal_need_no_llm(bench: Bench, emulator: Emulator) -> None:
    ruling = await bench.decide(signal_flat=0.97)  # rules alone 0.5, needed 0.95
    assert (ruling.rung, ruling.action) == ("rules", "trade")
    assert emulator.requests == []
    # An unsure signal does not stop the climb.
    ruling = await bench.decide(signal_flat=0.4)
    assert ruling.rung == "local"
    assert emulator.count("ollama") == 2


async def test_local_agents_that_agree_with_confidence_settle_it(
    bench: Bench, emulator: Emulator
) -> None:
    emulator.answers["llama3.1:8b"] = answer("trade", 0.97, size=0.5)
    ruling = await bench.decide()
    assert (ruling.rung, ruling.action, ruling.size) == ("local", "trade", Decimal("0.5"))
    assert emulator.count("ollama") == 2
    assert emulator.count("groq") == emulator.count("anthropic") == 0
    assert [(p, s, c) for p, _, s, c in bench.calls()] == [("ollama", "settled", 0)] * 2


async def test_local_disagreement_climbs_to_the_cheap_cloud(
    bench: Bench, emulator: Emulator
) -> None:
    emulator.answers["mistral:7b"] = answer("skip", 0.9)
    ruling = await bench.decide()
    assert (ruling.rung, ruling.action) == ("cloud", "trade")
    groq_request = next(body for name, body in emulator.requests if name == "groq")
    assert "local_answers" in groq_request["messages"][1]["content"]
    (_, model, usage) = next(u for u in emulator.usages if u[0] == "groq")
    cost = bench.calls()[-1][3]
    assert cost == PRICES.cost(
        "groq", model, Usage.openai_style(usage["prompt_tokens"], usage["completion_tokens"], 0)
    )
    assert cost > 0


async def test_low_confidence_climbs_to_premium(bench: Bench, emulator: Emulator) -> None:
    emulator.answers["mistral:7b"] = answer("skip", 0.9)
    emulator.answers[GROQ] = answer("trade", 0.85)
    ruling = await bench.decide()  # needs 0.95
    assert (ruling.rung, ruling.action) == ("premium", "trade")
    assert [rung for _, rung, _, _ in bench.calls()] == ["local", "local", "cloud", "premium"]


async def test_premium_only_when_the_decision_needs_more_than_090(
    bench: Bench, emulator: Emulator
) -> None:
    emulator.answers["mistral:7b"] = answer("skip", 0.9)
    emulator.answers[GROQ] = answer("trade", 0.85)
    ruling = await bench.decide(stake=80)  # needs 0.88: Groq's 0.85 is not enough either
    assert emulator.count("anthropic") == 0
    # Nobody sure enough: the conservative answer, a skip, wins.
    assert (ruling.rung, ruling.action) == ("cloud", "skip")


async def test_cloud_only_when_the_decision_needs_more_than_080(
    bench: Bench, emulator: Emulator
) -> None:
    emulator.answers["mistral:7b"] = answer("trade", 0.6)
    ruling = await bench.decide(stake=50)  # needs 0.775
    assert emulator.count("groq") == 0
    assert (ruling.rung, ruling.action, ruling.size) == ("local", "trade", Decimal(1))


async def test_consensus_takes_the_smallest_size_when_all_trade(
    bench: Bench, emulator: Emulator
) -> None:
    emulator.answers["llama3.1:8b"] = answer("trade", 0.7, size=0.8)
    emulator.answers["mistral:7b"] = answer("trade", 0.7)
    emulator.answers[GROQ] = answer("trade", 0.7, size=0.3)
    emulator.answers[HAIKU] = answer("trade", 0.7, size=0.6)
    ruling = await bench.decide()
    assert (ruling.rung, ruling.action, ruling.size) == ("premium", "trade", Decimal("0.3"))


# -- invalid answers -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["malformed", "schema"])
async def test_an_invalid_answer_is_asked_again_once(
    bench: Bench, emulator: Emulator, kind: str
) -> None:
    emulator.answers["mistral:7b"] = answer("skip", 0.9)
    emulator.script["groq"].append(Behaviour(kind))
    ruling = await bench.decide(stake=80)
    assert (ruling.rung, ruling.action) == ("cloud", "trade")
    asked = [body for name, body in emulator.requests if name == "groq"]
    assert len(asked) == 2
    assert "previous answer was invalid" in asked[1]["messages"][1]["content"]


async def test_invalid_twice_abstains_and_the_ladder_moves_on(
    bench: Bench, emulator: Emulator
) -> None:
    emulator.answers["mistral:7b"] = answer("skip", 0.9)
    emulator.script["groq"].extend([Behaviour("schema"), Behaviour("malformed")])
    ruling = await bench.decide()
    assert emulator.count("groq") == 2
    assert (ruling.rung, ruling.action) == ("premium", "trade")


# -- faults -------------------------------------------------------------------------------------

FAULTS = ["rate_limited", "overloaded", "overloaded_body", "server_error", "broken", "timeout"]


@pytest.mark.parametrize("provider", ["groq", "anthropic"])
@pytest.mark.parametrize("fault", FAULTS)
async def test_a_cloud_fault_moves_the_ladder_on(
    tmp_path: Path, emulator: Emulator, provider: str, fault: str
) -> None:
    # At $3,000 Groq is the cheap rung and Haiku the premium one; at $1,500 Haiku is the cheap
    # rung and there is no premium.
    equity = Decimal(3000) if provider == "groq" else Decimal(1500)
    bench = Bench(tmp_path, emulator.url, equity=equity)
    try:
        emulator.answers["mistral:7b"] = answer("skip", 0.9)
        behaviour = Behaviour("slow", delay=3.0) if fault == "timeout" else Behaviour(fault)
        emulator.script[provider].append(behaviour)
        ruling = await bench.decide()
        if provider == "groq":
            assert (ruling.rung, ruling.action) == ("premium", "trade")
        else:  # nothing above: the local disagreement is settled conservatively
            assert (ruling.rung, ruling.action) == ("local", "skip")
        call = next(row for row in bench.calls() if row[0] == provider)
        if fault == "timeout":
            # Timed out: the input may have been billed, so its cost is counted.
            assert call[2] == "cancelled"
            assert call[3] > 0
        else:
            assert call[2:] == ("failed", 0)
        breaker = bench.ladder.breakers[provider]
        assert breaker.allows() is (fault in {"server_error", "broken", "timeout"})
    finally:
        await bench.close()


async def test_anthropic_overloaded_and_rate_limited_fall_back_to_consensus(
    bench: Bench, emulator: Emulator
) -> None:
    emulator.answers["mistral:7b"] = answer("skip", 0.9)
    emulator.answers[GROQ] = answer("trade", 0.85)
    emulator.script["anthropic"].append(Behaviour("overloaded_body"))
    ruling = await bench.decide()
    assert (ruling.rung, ruling.action) == ("cloud", "skip")  # a local skip outweighs
    assert not bench.ladder.breakers["anthropic"].allows()
    # The open breaker spares the next decision the request.
    await bench.decide(profit_bps=4.1)
    assert emulator.count("anthropic") == 1


async def test_a_rate_limit_keeps_the_provider_closed_for_its_retry_after(
    bench: Bench, emulator: Emulator
) -> None:
    emulator.answers["mistral:7b"] = answer("skip", 0.9)
    emulator.script["groq"].append(Behaviour("rate_limited", retry_after=0.5))
    await bench.decide()
    assert not bench.ladder.breakers["groq"].allows()
    await asyncio.sleep(0.6)
    assert bench.ladder.breakers["groq"].allows()


async def test_a_hanging_provider_is_cut_by_the_deadline_and_rules_decide(
    tmp_path: Path, emulator: Emulator
) -> None:
    bench = Bench(tmp_path, emulator.url, equity=Decimal(3000), cloud_timeout=30)
    try:
        emulator.answers["mistral:7b"] = answer("skip", 0.9)
        emulator.script["groq"].append(Behaviour("hang"))
        ruling = await bench.decide()
        assert (ruling.rung, ruling.rationale) == ("rules", "deadline")
        groq = next(row for row in bench.calls() if row[0] == "groq")
        assert groq[2] == "cancelled"  # settled at its input cost, nothing left reserved
        assert groq[3] > 0
        assert bench.governor.open == {}
    finally:
        await bench.close()


async def test_local_faults_and_a_refused_connection(tmp_path: Path, emulator: Emulator) -> None:
    bench = Bench(tmp_path, emulator.url, equity=Decimal(3000), ollama_host="http://127.0.0.1:9")
    try:
        emulator.answers[GROQ] = answer("trade", 0.97)
        ruling = await bench.decide()
        assert (ruling.rung, ruling.action) == ("cloud", "trade")
        assert not bench.ladder.breakers["ollama"].allows()
    finally:
        await bench.close()


@pytest.mark.parametrize(
    "fault", ["server_error", "rate_limited", "broken", "malformed", "schema", "hang"]
)
async def test_local_agent_faults_leave_the_decision_to_the_cloud(
    bench: Bench, emulator: Emulator, fault: str
) -> None:
    emulator.script["ollama"].extend([Behaviour(fault) for _ in range(4)])
    emulator.answers[GROQ] = answer("trade", 0.97)
    ruling = await bench.decide()
    assert (ruling.rung, ruling.action) == ("cloud", "trade")


# -- cost and availability ---------------------------------------------------------------------


async def test_a_replay_of_the_same_market_data_costs_nothing(
    bench: Bench, emulator: Emulator
) -> None:
    emulator.answers["mistral:7b"] = answer("skip", 0.9)
    first = await bench.decide()
    requests, spent = len(emulator.requests), bench.governor.spent[bench.governor.window().day]
    again = await bench.decide()
    assert (again.rung, again.action) == (first.rung, first.action) == ("cloud", "trade")
    assert len(emulator.requests) == requests
    assert bench.governor.spent[bench.governor.window().day] == spent


async def test_without_budget_or_providers_rules_decide_and_say_so_once(
    tmp_path: Path, emulator: Emulator
) -> None:
    # $900 of equity: no AI budget at all; Ollama unreachable.
    bench = Bench(tmp_path, emulator.url, equity=Decimal(900), ollama_host="http://127.0.0.1:9")
    try:
        with capture_logs() as logs:
            await bench.ladder.start()
            rulings = [await bench.decide(profit_bps=4 + i / 10) for i in range(5)]
        assert {(r.rung, r.action) for r in rulings} == {("rules", "trade")}
        unavailable = [log for log in logs if log["event"] == "ai_unavailable"]
        assert len(unavailable) == 1, unavailable
        assert emulator.count("groq") == emulator.count("anthropic") == 0
    finally:
        await bench.close()


async def test_an_exhausted_budget_leaves_the_rules_in_charge(
    tmp_path: Path, emulator: Emulator
) -> None:
    bench = Bench(tmp_path, emulator.url, equity=Decimal(3000), ollama_host="http://127.0.0.1:9")
    try:
        window = bench.governor.window()
        bench.governor.spent[window.day] = bench.governor.budget().daily  # today's all gone
        with capture_logs() as logs:
            rulings = [await bench.decide(profit_bps=4 + i / 10) for i in range(3)]
        assert {r.rung for r in rulings} == {"rules"}
        reasons = [log["reason"] for log in logs if log["event"] == "ai_unavailable"]
        assert reasons == ["budget"]
        assert emulator.count("groq") == 0
    finally:
        await bench.close()


async def test_disabled_ai_never_asks(tmp_path: Path, emulator: Emulator) -> None:
    bench = Bench(tmp_path, emulator.url, equity=Decimal(3000), enabled=False)
    try:
        ruling = await bench.decide()
        assert ruling.rung == "rules"
        assert emulator.requests == []
    finally:
        await bench.close()
