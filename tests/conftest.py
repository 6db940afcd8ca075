from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "data" / "binance" / "recordings"


@pytest.fixture
def spot_recording() -> Path:
    return RECORDINGS / "spot_btcusdt_20240808.gz"


@pytest.fixture
def usdm_recording() -> Path:
    return RECORDINGS / "usdm_btcusdt_20240808.gz"
