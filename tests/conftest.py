from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "data" / "binance" / "recordings"
PRICING = ROOT / "config" / "pricing.toml"


def write_config(directory: Path, text: str) -> Path:
    """`arbiter.toml` in `directory`, with the price list beside it as a deployment has it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pricing.toml").write_bytes(PRICING.read_bytes())
    path = directory / "arbiter.toml"
    path.write_text(text)
    return path


@pytest.fixture
def spot_recording() -> Path:
    return RECORDINGS / "spot_btcusdt_20240808.gz"


@pytest.fixture
def usdm_recording() -> Path:
    return RECORDINGS / "usdm_btcusdt_20240808.gz"
