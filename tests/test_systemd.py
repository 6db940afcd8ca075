"""systemd integration: the notify protocol over a real unix datagram socket, and the unit's
hardening as `systemd-analyze` scores it."""

from __future__ import annotations

import itertools
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.harness import SPOT, USDM, daemon, daemon_config, emulator, wait_for


class NotifySocket:
    """Collects every datagram sent to a bound unix socket, with its arrival time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._running = True
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while self._running:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            for field in data.decode().split("\n"):
                self.messages.append((time.monotonic(), field))

    def first(self, field: str) -> float | None:
        return next((t for t, f in self.messages if f == field), None)

    def count(self, field: str) -> int:
        return sum(f == field for _, f in self.messages)

    def close(self) -> None:
        self._running = False
        self._thread.join()
        self.sock.close()


def test_notify_protocol(tmp_path: Path) -> None:
    notify = NotifySocket(tmp_path / "notify.sock")
    try:
        with emulator(SPOT, USDM) as exchange:
            config = daemon_config(tmp_path, exchange.port, ["spot", "linear"])
            env = {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
            with daemon(config, env=env) as running:
                ready = wait_for(lambda: notify.first("READY=1"), 30, "READY=1")
                books = running.books()
                assert all(book["state"] == "synced" for book in books.values())
                synced_at = [e for e in running.events() if e["event"] == "book_synced"]
                assert len(synced_at) == 2, "READY=1 only after every book synced"
                wait_for(lambda: notify.count("WATCHDOG=1") >= 4, 10, "repeated WATCHDOG=1")
                watchdogs = [t for t, f in notify.messages if f == "WATCHDOG=1"]
                # WATCHDOG_USEC is 1 s, so pings come every half second or so.
                assert max(b - a for a, b in itertools.pairwise(watchdogs)) < 0.9
                assert any(f.startswith("STATUS=2/2 books synced") for _, f in notify.messages)
                stopped = time.monotonic()
                assert running.stop(timeout=5) == 0
                assert time.monotonic() - stopped < 5
                stopping = notify.first("STOPPING=1")
                assert stopping is not None
                assert ready < stopping
                events = [e["event"] for e in running.events()]
                assert events[-1] == "shutdown_complete"
    finally:
        notify.close()


def test_unit_exposure_is_at_most_2() -> None:
    assert shutil.which("systemd-analyze"), "systemd-analyze is needed (.ci/run installs it)"
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "deploy/arbiter.service"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for arbiter\.service: (\d+\.\d+)", result.stdout)
    assert match is not None, result.stdout[-500:]
    assert float(match.group(1)) <= 2.0


def test_unit_runs_as_a_notify_service_with_a_watchdog() -> None:
    unit = (ROOT / "deploy" / "arbiter.service").read_text()
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "User=arbiter",
        "StateDirectory=arbiter",
        "RuntimeDirectory=arbiter",
        "LoadCredential=",
        "/etc/arbiter/arbiter.toml",
    ):
        assert line in unit
    assert re.search(r"^WatchdogSec=\d+", unit, re.MULTILINE)
