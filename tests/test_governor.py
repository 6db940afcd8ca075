"""The spend governor: exact costs from each provider's usage, budgets by equity tier, the
reservation protocol under heavy concurrency, crash recovery, and the AI's return."""

from __future__ import annotations

import asyncio
import random
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arbiter.agents.answers import Question
from arbiter.agents.ladder import COORDINATOR, Agent, Ladder
from arbiter.agents.providers import (
    AnthropicProvider,
    GroqProvider,
    OllamaProvider,
    ProviderError,
)
from arbiter.config import AiSettings, Settings
from arbiter.governor.budget import Window, budget_for, monthly_budget
from arbiter.governor.governor import BudgetRefusedError, Governor
from arbiter.governor.ledger import Ledger
from arbiter.governor.pricing import Usage, load_pricing
from arbiter.governor.returns import Resolved, Returns
from tests.conftest import PRICING
from tests.llm_emulator import Behaviour, Emulator

#: 15 December 2026, noon UTC: a 31-day month.
NOON = datetime(2026, 12, 15, 12, tzinfo=UTC).timestamp()
PRICES = load_pricing(PRICING)


def governor(
    path: Path, equity: Decimal = Decimal(1000), profit: Decimal = Decimal(0), **ai: object
) -> Governor:
    return Governor(
        AiSettings(**ai),  # type: ignore[arg-type]
        PRICES,
        Ledger(path / "ai.sqlite"),
        equity=lambda: equity,
        today_profit=lambda: profit,
        clock=lambda: NOON,
    )


# -- cost from usage --------------------------------------------------------------------------


def test_cost_from_usage_equals_a_hand_computation_for_each_provider() -> None:
    # Anthropic Haiku: 1,200 fresh input at $1, 300 output at $5, 2,000 cache reads at $0.10 and
    # 500 cache writes at $1.25 per million: 0.0012 + 0.0015 + 0.0002 + 0.000625.
    haiku = Usage.anthropic(1200, 300, cache_read=2000, cache_write=500)
    assert PRICES.cost("anthropic", "claude-haiku-4-5", haiku) == Decimal("0.003525")
    # Sonnet, same usage: 0.0036 + 0.0045 + 0.0006 + 0.001875.
    assert PRICES.cost("anthropic", "claude-sonnet-4-5", haiku) == Decimal("0.010575")
    # Groq's prompt_tokens includes its 400 cached tokens; Groq lists no cache price, so they
    # cost the input rate: (1,000 x 0.59 + 250 x 0.79) / 1e6.
    groq = Usage.openai_style(prompt_tokens=1000, completion_tokens=250, cached=400)
    assert groq == Usage(input=600, output=250, cache_read=400)
    assert PRICES.cost("groq", "llama-3.3-70b-versatile", groq) == Decimal("0.0007875")
    assert PRICES.cost("groq", "llama-3.1-8b-instant", groq) == Decimal("0.00007")
    # Ollama is local: free however many tokens.
    assert PRICES.cost("ollama", "llama3.1:8b", Usage(10**6, 10**6)) == 0
    with pytest.raises(KeyError):
        PRICES.cost("groq", "unpriced-model", groq)  # never guess a price


async def test_usage_reported_by_each_sdk_is_normalised_and_costed() -> None:
    emulator = await Emulator().start()
    try:
        system, user, schema = (
            "s" * 4000,
            '{"kind":"cross"}',
            {"type": "object", "properties": {"action": {}}},
        )
        answers = []
        for provider, model in (
            (OllamaProvider(emulator.url, 5), "llama3.1:8b"),
            (GroqProvider("key", emulator.url, 5), "llama-3.3-70b-versatile"),
            (AnthropicProvider("key", emulator.url, 5), "claude-haiku-4-5"),
        ):
            for _ in range(2):  # the second time the system prompt is cached
                answers.append(
                    (
                        provider.name,
                        model,
                        await provider.complete(model, system, user, schema, 100),
                    )
                )
            await provider.close()
        reported = [usage for _, _, usage in emulator.usages]
    finally:
        await emulator.stop()
    (_, _, ollama1), _, (_, _, groq1), (_, _, groq2), (_, _, claude1), (_, _, claude2) = answers
    assert ollama1.usage == Usage(reported[0]["prompt_eval_count"], reported[0]["eval_count"])
    # Groq: the cached part is taken out of prompt_tokens and priced as a cache read.
    assert groq1.usage.cache_read == 0
    assert groq2.usage.cache_read == reported[3]["prompt_tokens_details"]["cached_tokens"] > 1000
    assert groq2.usage.input + groq2.usage.cache_read == reported[3]["prompt_tokens"]
    # Anthropic: written to the cache the first time, read from it the second.
    assert (claude1.usage.cache_write, claude1.usage.cache_read) == (1000, 0)
    assert (claude2.usage.cache_write, claude2.usage.cache_read) == (0, 1000)
    assert claude2.usage.input == reported[5]["input_tokens"]
    hand = (
        Decimal(claude2.usage.input) * Decimal("1.00")
        + Decimal(claude2.usage.output) * Decimal("5.00")
        + Decimal(1000) * Decimal("0.10")
    ) / 10**6
    assert PRICES.cost("anthropic", "claude-haiku-4-5", claude2.usage) == hand


def test_a_bad_price_list_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "pricing.toml"
    path.write_text('[models."groq:x"]\ninput = "-1"\noutput = "1"\nsource = "s"\ndate = "d"\n')
    with pytest.raises(Exception, match=r"pricing.toml: key models.groq:x.input: ") as error:
        load_pricing(path)
    assert "\n" not in str(error.value)


# -- budgets ----------------------------------------------------------------------------------


def test_budget_tiers_scale_with_equity_and_the_daily_limit_keeps_a_reserve() -> None:
    tiers = AiSettings().tiers
    assert monthly_budget(Decimal(999), tiers) == 0
    assert monthly_budget(Decimal(1000), tiers) == 5
    assert monthly_budget(Decimal(1250), tiers) == 10
    assert monthly_budget(Decimal(1500), tiers) == 25
    assert monthly_budget(Decimal(4000), tiers) == 100
    assert monthly_budget(Decimal(10_000), tiers) == 300
    december = Window.at(NOON, ZoneInfo("UTC"))
    budget = budget_for(Decimal(1000), AiSettings(), december)
    assert budget.daily * 31 == pytest.approx(Decimal(5), abs=Decimal("1e-15"))
    assert budget.daily_limit(critical=False) == budget.daily - budget.reserve
    assert budget.reserve == pytest.approx(budget.daily * Decimal("0.3"), abs=Decimal("1e-17"))
    assert budget.model("cloud") == ("groq", "llama-3.3-70b-versatile")
    assert budget.model("premium") is None


def test_days_and_months_turn_in_the_configured_time_zone(tmp_path: Path) -> None:
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC).timestamp()
    utc = Governor(
        AiSettings(),
        PRICES,
        Ledger(tmp_path / "a.sqlite"),
        equity=lambda: Decimal(1000),
        today_profit=lambda: Decimal(0),
        clock=lambda: late,
    )
    tokyo = Governor(
        AiSettings(timezone="Asia/Tokyo"),
        PRICES,
        Ledger(tmp_path / "b.sqlite"),
        equity=lambda: Decimal(1000),
        today_profit=lambda: Decimal(0),
        clock=lambda: late,
    )
    assert (utc.window().day, utc.window().month) == ("2026-12-31", "2026-12")
    assert (tokyo.window().day, tokyo.window().month) == ("2027-01-01", "2027-01")


# -- the reservation protocol -----------------------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("reserve"),
            st.booleans(),
            st.sampled_from(["llama-3.3-70b-versatile", "claude-haiku-4-5", "claude-sonnet-4-5"]),
            st.integers(1, 40_000),
        ),
        st.tuples(st.just("settle"), st.integers(0, 50), st.floats(0, 1), st.floats(0, 1)),
        st.tuples(st.just("cancel"), st.integers(0, 50), st.booleans()),
    ),
    max_size=60,
)
PROVIDER = {"llama-3.3-70b-versatile": "groq"}


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_reservations_match_a_simple_reference_ledger(ops: list[tuple[object, ...]]) -> None:
    """Every refusal and every total agrees with sums computed by hand; money never rounds."""
    # A directory of its own per example: hypothesis cannot use pytest's tmp_path.
    with tempfile.TemporaryDirectory() as directory:
        gov = governor(Path(directory), equity=Decimal(5000))
        budget = gov.budget()
        spent = Decimal(0)
        open_: list[tuple[Any, int, Decimal, Any]] = []  # reservation, tokens, amount, price
        for op in ops:
            if op[0] == "reserve":
                _, critical, model, tokens = op
                provider = PROVIDER.get(str(model), "anthropic")
                price = PRICES.price(provider, str(model))
                assert price is not None
                dearest = max(p for p in (price.input, price.cache_read, price.cache_write) if p)
                amount = (int(tokens) * dearest + 200 * price.output) / 10**6
                committed = spent + sum(held[2] for held in open_)
                allowed = committed + amount <= budget.daily_limit(bool(critical))
                try:
                    reservation = gov.reserve(
                        provider=provider,
                        model=str(model),
                        rung="cloud",
                        input_tokens=int(tokens),
                        critical=bool(critical),
                        decision_id=None,
                    )
                except BudgetRefusedError:
                    assert not allowed
                    continue
                assert allowed
                assert reservation.amount == amount
                open_.append((reservation, int(tokens), amount, price))
            elif open_:
                reservation, tokens, _, price = open_.pop(int(op[1]) % len(open_))
                if op[0] == "settle":
                    used_in, used_out = int(float(op[2]) * tokens), int(float(op[3]) * 200)
                    gov.settle(reservation, Usage(used_in, used_out))
                    spent += (used_in * price.input + used_out * price.output) / 10**6
                else:
                    gov.cancel(reservation, billed=bool(op[2]))
                    spent += tokens * price.input / 10**6 if op[2] else 0
            day, month = gov.committed(gov.window())
            assert day == month == spent + sum(held[2] for held in open_)
            assert day <= budget.daily
        rows = gov.ledger.db.execute("SELECT cost FROM calls WHERE cost IS NOT NULL").fetchall()
        assert sum((Decimal(cost) for (cost,) in rows), Decimal(0)) == spent
        gov.ledger.close()


async def test_ten_thousand_concurrent_escalations_never_pass_the_limit(tmp_path: Path) -> None:
    """10,000 escalations from 50 tasks through the real SDKs, with random latency, sizes,
    errors, hangs and cancellations: spent + reserved never passes the applicable limit, only
    critical calls spend the reserve, and the ledger ends equal to the settled costs."""
    rng = random.Random(20261203)
    emulator = await Emulator().start()
    kinds = ["ok"] * 12 + ["slow", "hang", "rate_limited", "overloaded", "server_error", "broken"]
    for provider in ("groq", "anthropic"):
        emulator.script[provider].extend(
            Behaviour(rng.choice(kinds), delay=rng.random() * 0.004) for _ in range(10_000)
        )
    gov = governor(tmp_path, equity=Decimal(5000))
    gov.ledger = ObservedLedger(tmp_path / "ai.sqlite", gov)
    budget = gov.budget()
    ladder = Ladder(
        Settings(),
        gov,
        {
            "groq": GroqProvider("key", emulator.url, timeout=5),
            "anthropic": AnthropicProvider("key", emulator.url, timeout=5),
        },
    )
    agents = [
        Agent("cloud", "groq", "llama-3.3-70b-versatile", COORDINATOR),
        Agent("premium", "anthropic", "claude-haiku-4-5", COORDINATOR),
        Agent("premium", "anthropic", "claude-sonnet-4-5", COORDINATOR),
    ]
    counts = {"answered": 0, "refused": 0, "failed": 0, "cancelled": 0}
    violations: list[str] = []

    def check() -> None:
        day, month = gov.committed(gov.window())
        if day > budget.daily or month > budget.monthly:
            violations.append(f"committed {day} over {budget.daily}")

    async def watch() -> None:
        while True:
            check()
            await asyncio.sleep(0)

    async def escalate(index: int) -> None:
        agent = rng.choice(agents)
        critical = rng.random() < 0.15
        question = Question(f"d{index}", {"i": index}, 0.95, critical, Decimal(10))
        user = "x" * rng.randint(10, 20_000)
        try:
            async with asyncio.timeout(rng.choice([0.003, 0.02, 1.0])):
                await ladder.call(agent, question, user)
            counts["answered"] += 1
        except BudgetRefusedError:
            counts["refused"] += 1
        except ProviderError:
            counts["failed"] += 1
        except TimeoutError:
            counts["cancelled"] += 1
        finally:
            check()

    async def worker(first: int) -> None:
        for index in range(first, 10_000, 50):
            await escalate(index)

    watcher = asyncio.create_task(watch())
    try:
        async with asyncio.TaskGroup() as tasks:
            for first in range(50):
                tasks.create_task(worker(first))
    finally:
        watcher.cancel()
        for provider in ladder.providers.values():
            await provider.close()
        await emulator.stop()
    assert not violations, violations[:3]
    # At the instant each reservation was granted: within the limit that applied to it.
    assert len(gov.ledger.grants) == len(
        rows := gov.ledger.db.execute("SELECT 1 FROM calls").fetchall()
    )
    for critical, committed in gov.ledger.grants:
        assert committed <= budget.daily_limit(critical)
    assert sum(counts.values()) == 10_000
    assert all(counts.values()), counts  # every path was taken
    assert gov.open == {}
    rows = gov.ledger.db.execute(
        "SELECT provider, model, state, cost, reserved, input_cost, input_tokens, output_tokens,"
        " cache_read_tokens, cache_write_tokens, critical FROM calls"
    ).fetchall()
    total = Decimal(0)
    for provider, model, state, cost, reserved, input_cost, inp, out, read, write, _ in rows:
        if state == "settled":
            expected = PRICES.cost(provider, model, Usage(inp, out, read, write))
        else:
            expected = Decimal(input_cost) if state == "cancelled" else Decimal(0)
        assert Decimal(cost) == expected
        assert Decimal(cost) <= Decimal(reserved)
        total += Decimal(cost)
    window = gov.window()
    assert gov.spent[window.day] == gov.spent[window.month] == total
    assert total <= budget.daily
    # The reserve went to critical calls only: without them the day stays below its limit.
    non_critical = sum((Decimal(row[3]) for row in rows if not row[10]), Decimal(0))
    assert non_critical <= budget.daily_limit(critical=False)
    assert total > budget.daily_limit(critical=False) * Decimal("0.9"), "the limit was reached"


class ObservedLedger(Ledger):
    """The real ledger, noting what was committed at the instant of each grant."""

    def __init__(self, path: Path, gov: Governor) -> None:
        super().__init__(path)
        self.gov = gov
        self.grants: list[tuple[bool, Decimal]] = []

    def reserve(self, **row: Any) -> int:
        day, _ = self.gov.committed(self.gov.window())
        self.grants.append((row["critical"], day + row["reserved"]))
        return super().reserve(**row)


def test_calls_in_flight_at_a_crash_count_as_spent_at_restart(tmp_path: Path) -> None:
    gov = governor(tmp_path, equity=Decimal(5000))
    held = [
        gov.reserve(
            provider="anthropic",
            model="claude-haiku-4-5",
            rung="cloud",
            input_tokens=2000,
            critical=False,
            decision_id=f"d{i}",
        )
        for i in range(3)
    ]
    settled = gov.settle(held[0], Usage(100, 10))
    reserved = held[1].amount + held[2].amount
    gov.ledger.db.close()  # the process dies here: no settle for the other two
    restarted = governor(tmp_path, equity=Decimal(5000))
    window = restarted.window()
    assert restarted.spent[window.day] == settled + reserved
    states = restarted.ledger.db.execute("SELECT state FROM calls ORDER BY id").fetchall()
    assert [state for (state,) in states] == ["settled", "lost", "lost"]


# -- return on AI -----------------------------------------------------------------------------


def test_roi_below_target_demotes_one_rung_and_recovery_promotes() -> None:
    returns = Returns(Decimal(3), window_ms=3_600_000, min_decisions=4)
    for t in range(4):  # AI earned 0.01 more than the rules at a cost of 0.01: ROI 1
        returns.add(Resolved(t, Decimal("0.02"), Decimal("0.01"), Decimal("0.01")))
    assert returns.roi(4) == 1
    assert returns.judge(4, paid_rungs=2) == 1
    assert returns.demoted == 1
    assert returns.judge(5, paid_rungs=2) == 0  # a move is judged on fresh decisions only
    for t in range(10, 14):  # then 0.50 better at 0.01: ROI over the window recovers
        returns.add(Resolved(t, Decimal("0.60"), Decimal("0.10"), Decimal("0.01")))
    assert returns.roi(14) == (Decimal("0.04") + Decimal("2.00")) / Decimal("0.08")
    assert returns.judge(14, paid_rungs=2) == -1
    assert returns.demoted == 0


def test_outcomes_feed_the_ladder_demotion(tmp_path: Path) -> None:
    gov = governor(tmp_path, equity=Decimal(5000), roi_min_decisions=3)
    assert gov.paid_rungs() == ["cloud", "premium"]
    for index in range(3):
        reservation = gov.reserve(
            provider="anthropic",
            model="claude-haiku-4-5",
            rung="cloud",
            input_tokens=1000,
            critical=False,
            decision_id=f"d{index}",
        )
        gov.settle(reservation, Usage(1000, 100))
        gov.outcome(
            f"d{index}",
            rung="cloud",
            action="skip",
            shadow_action="trade",
            profit=Decimal(0),
            shadow_profit=Decimal("0.05"),
        )
    assert gov.paid_rungs() == ["cloud"]
    outcomes = gov.ledger.outcomes(0)
    assert [row.cost for row in outcomes] == [Decimal("0.0015")] * 3
