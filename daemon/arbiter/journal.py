"""The journal: every step of trading in SQLite (WAL), each step one transaction, and on start
everything that limits risk read back, so a restart never resets a limit.

Money is stored as decimal text, never as floats. A fill has a unique id, and its balance
changes are written in the same transaction as the fill itself: a fill seen twice is booked once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from arbiter.decisions import Decision
from arbiter.execution.orders import OrderRequest
from arbiter.money import ZERO

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS opportunities (
    id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
    profit REAL NOT NULL, profit_bps REAL NOT NULL, persistence_ms INTEGER NOT NULL,
    legs TEXT NOT NULL, inputs TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (
    id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
    state TEXT NOT NULL, legs TEXT NOT NULL, expected_profit TEXT NOT NULL,
    reason TEXT, closed_ms INTEGER);
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY, decision_id TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    venue TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, amount TEXT NOT NULL,
    limit_price TEXT, state TEXT NOT NULL, purpose TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
    fill_id TEXT PRIMARY KEY, client_order_id TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    venue TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, base TEXT NOT NULL,
    quote TEXT NOT NULL, fee TEXT NOT NULL, fee_asset TEXT NOT NULL, fee_value TEXT NOT NULL,
    realised TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS balances (
    venue TEXT NOT NULL, asset TEXT NOT NULL, amount TEXT NOT NULL, basis TEXT NOT NULL,
    PRIMARY KEY (venue, asset));
CREATE TABLE IF NOT EXISTS accounts (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS equity (
    ts_ms INTEGER NOT NULL, equity TEXT NOT NULL, realised TEXT NOT NULL, fees TEXT NOT NULL,
    unrealised TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS halts (
    id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, reason TEXT NOT NULL,
    flatten INTEGER NOT NULL, active INTEGER NOT NULL, cleared_ms INTEGER);
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS fills_by_time ON fills (ts_ms);
CREATE INDEX IF NOT EXISTS decisions_by_state ON decisions (state);
"""
OPEN = "open"


def day_start_ms(now_ms: int) -> int:
    day = datetime.fromtimestamp(now_ms / 1000, UTC).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return int(day.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class FillRecord:
    fill_id: str
    client_order_id: str
    ts_ms: int
    venue: str
    symbol: str
    side: str
    base: Decimal
    quote: Decimal
    fee: Decimal
    fee_asset: str
    fee_value: Decimal
    realised: Decimal


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restart reads back."""

    balances: dict[tuple[str, str], tuple[Decimal, Decimal]]  # (venue, asset) -> (amount, basis)
    realised: Decimal
    fees: Decimal
    initial_equity: Decimal | None
    today_pnl: Decimal
    active_halts: list[dict[str, Any]]
    interrupted: int


def open_database(path: Path) -> sqlite3.Connection:
    """A SQLite file for money: WAL, and a committed transaction survives a power cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class Journal:
    def __init__(self, path: Path) -> None:
        self.db = open_database(path)
        self.db.executescript(SCHEMA)
        with self.transaction():
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.db)

    def close(self) -> None:
        self.db.close()

    # -- writes -------------------------------------------------------------------------------

    def opportunity(self, ts_ms: int, row: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO opportunities (ts_ms, key, kind, profit, profit_bps, persistence_ms,"
                " legs, inputs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ts_ms,
                    row["key"],
                    row["kind"],
                    row["profit"],
                    row["profit_bps"],
                    row["persistence_ms"],
                    json.dumps(row["legs"]),
                    json.dumps(row["inputs"]),
                ),
            )

    def open_decision(self, decision: Decision) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO decisions (id, ts_ms, key, kind, state, legs, expected_profit)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    decision.id,
                    decision.ts_ms,
                    decision.key,
                    decision.kind,
                    OPEN,
                    json.dumps(decision.legs_as_json()),
                    str(decision.expected_profit),
                ),
            )

    def close_decision(self, decision_id: str, ts_ms: int, state: str, reason: str | None) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE decisions SET state = ?, reason = ?, closed_ms = ? WHERE id = ?",
                (state, reason, ts_ms, decision_id),
            )

    def order_sent(self, order: OrderRequest, ts_ms: int) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO orders (client_order_id, decision_id, ts_ms, venue, symbol, side,"
                " amount, limit_price, state, purpose) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sent', ?)"
                # A retried order (same client id) is the same order: keep the first row.
                " ON CONFLICT (client_order_id) DO NOTHING",
                (
                    order.client_order_id,
                    order.decision_id,
                    ts_ms,
                    order.venue,
                    order.symbol,
                    order.side,
                    str(order.amount),
                    None if order.limit_price is None else str(order.limit_price),
                    order.purpose,
                ),
            )

    def fill(
        self,
        fill: FillRecord,
        balances: dict[tuple[str, str], tuple[Decimal, Decimal]],
        realised: Decimal,
        fees: Decimal,
        order_state: str,
    ) -> bool:
        """Books a fill with the balances and totals it produced, in one transaction. False
        (and nothing written) if this fill was already booked."""
        try:
            with self.transaction():
                self.db.execute(
                    "INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        fill.fill_id,
                        fill.client_order_id,
                        fill.ts_ms,
                        fill.venue,
                        fill.symbol,
                        fill.side,
                        str(fill.base),
                        str(fill.quote),
                        str(fill.fee),
                        fill.fee_asset,
                        str(fill.fee_value),
                        str(fill.realised),
                    ),
                )
                self._write_balances(balances)
                self._write_accounts(realised=realised, fees=fees)
                self.db.execute(
                    "UPDATE orders SET state = ? WHERE client_order_id = ?",
                    (order_state, fill.client_order_id),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def has_fill(self, fill_id: str) -> bool:
        row = self.db.execute("SELECT 1 FROM fills WHERE fill_id = ?", (fill_id,)).fetchone()
        return row is not None

    def set_order_state(self, client_order_id: str, state: str) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE orders SET state = ? WHERE client_order_id = ?", (state, client_order_id)
            )

    def opening_balances(
        self, balances: dict[tuple[str, str], tuple[Decimal, Decimal]], initial_equity: Decimal
    ) -> None:
        with self.transaction():
            self._write_balances(balances)
            self._write_accounts(realised=ZERO, fees=ZERO, initial_equity=initial_equity)

    def equity(
        self, ts_ms: int, equity: Decimal, realised: Decimal, fees: Decimal, unrealised: Decimal
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO equity VALUES (?, ?, ?, ?, ?)",
                (ts_ms, str(equity), str(realised), str(fees), str(unrealised)),
            )

    def halt(self, ts_ms: int, reason: str, flatten: bool) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO halts (ts_ms, reason, flatten, active) VALUES (?, ?, ?, 1)",
                (ts_ms, reason, int(flatten)),
            )

    def clear_halts(self, ts_ms: int) -> int:
        with self.transaction():
            cursor = self.db.execute(
                "UPDATE halts SET active = 0, cleared_ms = ? WHERE active = 1", (ts_ms,)
            )
            return cursor.rowcount

    def _write_balances(self, balances: dict[tuple[str, str], tuple[Decimal, Decimal]]) -> None:
        self.db.executemany(
            "INSERT INTO balances VALUES (?, ?, ?, ?) ON CONFLICT (venue, asset)"
            " DO UPDATE SET amount = excluded.amount, basis = excluded.basis",
            [(v, a, str(amount), str(basis)) for (v, a), (amount, basis) in balances.items()],
        )

    def _write_accounts(self, **values: Decimal) -> None:
        self.db.executemany(
            "INSERT INTO accounts VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(key, str(value)) for key, value in values.items()],
        )

    # -- reads --------------------------------------------------------------------------------

    def restore(self, now_ms: int) -> Restored:
        """Reads back what limits risk, and closes decisions a crash left open."""
        balances = {
            (venue, asset): (Decimal(amount), Decimal(basis))
            for venue, asset, amount, basis in self.db.execute("SELECT * FROM balances")
        }
        accounts = dict(self.db.execute("SELECT key, value FROM accounts").fetchall())
        with self.transaction():
            interrupted = self.db.execute(
                "UPDATE decisions SET state = 'interrupted', reason = 'restart', closed_ms = ?"
                " WHERE state = ?",
                (now_ms, OPEN),
            ).rowcount
        return Restored(
            balances=balances,
            realised=Decimal(accounts.get("realised", "0")),
            fees=Decimal(accounts.get("fees", "0")),
            initial_equity=Decimal(accounts["initial_equity"])
            if "initial_equity" in accounts
            else None,
            today_pnl=self.pnl_since(day_start_ms(now_ms)),
            active_halts=self.active_halts(),
            interrupted=interrupted,
        )

    def pnl_since(self, since_ms: int) -> Decimal:
        rows = self.db.execute(
            "SELECT realised, fee_value FROM fills WHERE ts_ms >= ?", (since_ms,)
        ).fetchall()
        return sum((Decimal(r) - Decimal(f) for r, f in rows), ZERO)

    def active_halts(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT ts_ms, reason, flatten FROM halts WHERE active = 1 ORDER BY id"
        ).fetchall()
        return [{"ts_ms": t, "reason": r, "flatten": bool(f)} for t, r, f in rows]

    def decisions_since(self, since_ms: int) -> dict[str, int]:
        rows = self.db.execute(
            "SELECT state, count(*) FROM decisions WHERE ts_ms >= ? GROUP BY state", (since_ms,)
        ).fetchall()
        return dict(rows)

    def remember_nonce(self, nonce: str, ts: float, keep_seconds: float = 3600) -> bool:
        """Records a control message's nonce; False if it was already used (a replay)."""
        with self.transaction():
            self.db.execute("DELETE FROM nonces WHERE ts < ?", (ts - keep_seconds,))
            inserted = self.db.execute(
                "INSERT INTO nonces VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING", (nonce, ts)
            ).rowcount
        return inserted == 1

    def integrity(self) -> str:
        (result,) = self.db.execute("PRAGMA integrity_check").fetchone()
        return str(result)
