"""The emulator and `arbiter run` as real processes: at the end of a recording the daemon's
books, read with `arbiter status --json --depth 20`, equal an independent rebuild."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.harness import (
    SPOT,
    USDM,
    daemon,
    daemon_config,
    emulator,
    wait_for_last_update,
)
from tests.reference import rebuild

DEPTH = 20


def test_books_at_end_of_replay_match_independent_rebuild(tmp_path: Path) -> None:
    expected = {"binance_spot": rebuild(SPOT), "binance_usdm": rebuild(USDM)}
    with emulator(SPOT, USDM, speed=0, once=True, wait_subscribers=2) as exchange:
        config = daemon_config(tmp_path, exchange.port, ["spot", "linear"])
        with daemon(config) as running:
            wait_for_last_update(running, exchange)
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "arbiter",
                    "status",
                    "-c",
                    str(config),
                    "--json",
                    "--depth",
                    str(DEPTH),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            assert running.stop() == 0
    books = {book["venue"]: book for book in json.loads(result.stdout)["books"]}
    for venue, reference in expected.items():
        book = books[venue]
        assert book["state"] == "synced"
        assert book["bids"] == reference.top("bid", DEPTH), venue
        assert book["asks"] == reference.top("ask", DEPTH), venue
        assert book["resyncs"] == 0
