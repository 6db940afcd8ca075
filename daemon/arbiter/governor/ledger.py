"""The AI ledger in SQLite: every paid call is written as a reservation before its request leaves
and settled after it returns, so a crash can only over-count spend, never under-count it. Also the
outcome of every decision (for the AI's return and the mix) and the response cache.

Money is decimal text. Synchronous=FULL: a reservation survives a power cut, not only a kill.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from arbiter.governor.pricing import Usage
from arbiter.journal import open_database, transaction
from arbiter.money import ZERO, money

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, day TEXT NOT NULL, month TEXT NOT NULL,
    provider TEXT NOT NULL, model TEXT NOT NULL, rung TEXT NOT NULL, decision_id TEXT,
    critical INTEGER NOT NULL, reserved TEXT NOT NULL, input_cost TEXT NOT NULL,
    state TEXT NOT NULL, cost TEXT,
    input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER,
    cache_write_tokens INTEGER, latency_ms REAL);
CREATE INDEX IF NOT EXISTS calls_by_month ON calls (month);
CREATE INDEX IF NOT EXISTS calls_by_state ON calls (state);
CREATE TABLE IF NOT EXISTS outcomes (
    decision_id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, day TEXT NOT NULL,
    month TEXT NOT NULL, rung TEXT NOT NULL, action TEXT NOT NULL, shadow_action TEXT NOT NULL,
    cost TEXT NOT NULL, profit TEXT, shadow_profit TEXT);
CREATE INDEX IF NOT EXISTS outcomes_by_time ON outcomes (ts_ms);
CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL, ts_ms INTEGER);
"""
#: A call written before its request left and not settled yet.
RESERVED = "reserved"


@dataclass(frozen=True, slots=True)
class CallRow:
    """A call as the ledger holds it; `cost` is None while it is in flight."""

    id: int
    day: str
    month: str
    provider: str
    model: str
    rung: str
    critical: bool
    reserved: Decimal
    state: str
    cost: Decimal | None
    latency_ms: float | None

    @property
    def spent(self) -> Decimal:
        """What the call counts for: its cost, or while unsettled its whole reservation."""
        return self.reserved if self.cost is None else self.cost


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    decision_id: str
    ts_ms: int
    day: str
    month: str
    rung: str
    action: str
    shadow_action: str
    cost: Decimal
    profit: Decimal | None
    shadow_profit: Decimal | None


class Ledger:
    def __init__(self, path: Path) -> None:
        self.db = open_database(path)
        self.db.executescript(SCHEMA)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.db)

    def close(self) -> None:
        self.db.close()

    # -- calls --------------------------------------------------------------------------------

    def reserve(
        self,
        *,
        ts_ms: int,
        day: str,
        month: str,
        provider: str,
        model: str,
        rung: str,
        decision_id: str | None,
        critical: bool,
        reserved: Decimal,
        input_cost: Decimal,
    ) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO calls (ts_ms, day, month, provider, model, rung, decision_id,"
                " critical, reserved, input_cost, state) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    ts_ms,
                    day,
                    month,
                    provider,
                    model,
                    rung,
                    decision_id,
                    int(critical),
                    str(reserved),
                    str(input_cost),
                    RESERVED,
                ),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def settle(
        self, call_id: int, state: str, cost: Decimal, usage: Usage | None, latency_ms: float
    ) -> None:
        usage = usage or Usage()
        with self._transaction() as db:
            db.execute(
                "UPDATE calls SET state = ?, cost = ?, input_tokens = ?, output_tokens = ?,"
                " cache_read_tokens = ?, cache_write_tokens = ?, latency_ms = ?"
                " WHERE id = ? AND state = ?",
                (
                    state,
                    str(cost),
                    usage.input,
                    usage.output,
                    usage.cache_read,
                    usage.cache_write,
                    latency_ms,
                    call_id,
                    RESERVED,
                ),
            )

    def settle_abandoned(self) -> Decimal:
        """At start: calls a crash left in flight are counted at their whole reservation."""
        with self._transaction() as db:
            rows = db.execute("SELECT reserved FROM calls WHERE state = ?", (RESERVED,)).fetchall()
            db.execute(
                "UPDATE calls SET state = 'lost', cost = reserved WHERE state = ?", (RESERVED,)
            )
        with money():
            return sum((Decimal(reserved) for (reserved,) in rows), ZERO)

    def calls(self, month: str) -> list[CallRow]:
        rows = self.db.execute(
            "SELECT id, day, month, provider, model, rung, critical, reserved, state, cost,"
            " latency_ms FROM calls WHERE month = ? ORDER BY id",
            (month,),
        ).fetchall()
        return [
            CallRow(
                id=row[0],
                day=row[1],
                month=row[2],
                provider=row[3],
                model=row[4],
                rung=row[5],
                critical=bool(row[6]),
                reserved=Decimal(row[7]),
                state=row[8],
                cost=None if row[9] is None else Decimal(row[9]),
                latency_ms=row[10],
            )
            for row in rows
        ]

    # -- outcomes -----------------------------------------------------------------------------

    def outcome(self, row: OutcomeRow) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO outcomes VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    row.decision_id,
                    row.ts_ms,
                    row.day,
                    row.month,
                    row.rung,
                    row.action,
                    row.shadow_action,
                    str(row.cost),
                    None if row.profit is None else str(row.profit),
                    None if row.shadow_profit is None else str(row.shadow_profit),
                ),
            )

    def outcomes(self, since_ms: int) -> list[OutcomeRow]:
        rows = self.db.execute(
            "SELECT * FROM outcomes WHERE ts_ms >= ? ORDER BY ts_ms", (since_ms,)
        ).fetchall()
        return [
            OutcomeRow(
                decision_id=row[0],
                ts_ms=row[1],
                day=row[2],
                month=row[3],
                rung=row[4],
                action=row[5],
                shadow_action=row[6],
                cost=Decimal(row[7]),
                profit=None if row[8] is None else Decimal(row[8]),
                shadow_profit=None if row[9] is None else Decimal(row[9]),
            )
            for row in rows
        ]

    # -- answers ------------------------------------------------------------------------------

    def answer(self, key: str) -> str | None:
        row = self.db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def remember_answer(self, key: str, answer: str, ts_ms: int) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO answers VALUES (?,?,?)", (key, answer, ts_ms))
