"""`arbiter sim demo`: the emulator replaying the bundled recordings and the daemon streaming
from it, side by side in one terminal. Ctrl-C stops both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
RECORDINGS = ROOT / "data" / "binance" / "recordings"
DEMO_PORT = 8765  # config/demo.toml points the venues here


def run_demo(config: Path) -> int:
    recordings = [RECORDINGS / "spot_btcusdt_20240808.gz", RECORDINGS / "usdm_btcusdt_20240808.gz"]
    command = [sys.executable, "-m", "arbiter", "sim", "exchange", "--port", str(DEMO_PORT)]
    # Its own session, so Ctrl-C reaches the daemon first and the emulator is stopped after.
    with subprocess.Popen(
        [*command, "--data", *map(str, recordings)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as emulator:
        try:
            assert emulator.stdout is not None
            banner = emulator.stdout.readline()
            if not banner:
                print(f"arbiter: the emulator did not start (is port {DEMO_PORT} free?)")
                return 1
            print(banner.strip(), "- replaying Binance BTC spot and USDⓈ-M, 2024-08-08")
            daemon = subprocess.Popen([sys.executable, "-m", "arbiter", "run", "-c", str(config)])
            try:
                return daemon.wait()
            except KeyboardInterrupt:
                return daemon.wait(timeout=10)  # the daemon got the same SIGINT
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
