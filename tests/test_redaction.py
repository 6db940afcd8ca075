"""A canary secret fed through config reaches no output: not structlog events (message, fields,
nested values, exceptions), not standard-library loggers, not warnings, not check-config."""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

import pytest
import structlog

from arbiter.config import LoggingSettings, load_settings
from arbiter.logging import REDACTED, configure_logging, get_logger
from tests.test_config import VENUE, arbiter, write

CANARY = "canary-5ecret-Zq81"
FILE_CANARY = "canary-from-file-77"


class Leaky:
    def __repr__(self) -> str:
        return f"Leaky({CANARY})"


@pytest.fixture
def settings_with_canaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    (tmp_path / "secret").write_text(FILE_CANARY)
    monkeypatch.setenv("ARBITER_VENUES__X__API_KEY", CANARY)
    path = write(tmp_path, VENUE + f'api_secret_file = "{tmp_path / "secret"}"\n')
    return load_settings(path).secrets()


@pytest.mark.parametrize("format", ["json", "console"])
def test_canary_reaches_no_log_path(settings_with_canaries: list[str], format: str) -> None:
    assert set(settings_with_canaries) == {CANARY, FILE_CANARY}
    out = io.StringIO()
    configure_logging(
        LoggingSettings(level="debug", format=format), settings_with_canaries, stream=out
    )
    try:
        log = get_logger("arbiter.test")
        log.info(f"event carrying {CANARY}")
        log.warning("fields", key=CANARY, nested={"deep": [CANARY, {CANARY: FILE_CANARY}]})
        log.info("object", value=Leaky())
        structlog.contextvars.bind_contextvars(bound=CANARY)
        log.info("bound")
        structlog.contextvars.clear_contextvars()
        try:
            raise RuntimeError(f"failed with {FILE_CANARY}")
        except RuntimeError:
            log.exception("crashed")
        logging.getLogger("ccxt.base").warning("stdlib %s and %s", CANARY, FILE_CANARY)
        try:
            raise ValueError(CANARY)
        except ValueError:
            logging.getLogger("aiomqtt").exception("stdlib exception")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(f"warning with {CANARY}", UserWarning, stacklevel=1)
    finally:
        logging.getLogger().handlers.clear()
        logging.captureWarnings(False)
    text = out.getvalue()
    assert CANARY not in text
    assert FILE_CANARY not in text
    assert text.count(REDACTED) >= 10
    assert "Traceback" in text
    if format == "json":
        events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        assert {"fields", "crashed", "stdlib exception", "bound"} <= {e["event"] for e in events}
        fields = next(e for e in events if e["event"] == "fields")
        assert fields["key"] == REDACTED
        assert fields["level"] == "warning"
        assert fields["logger"] == "arbiter.test"
        assert fields["timestamp"].endswith("Z")


def test_check_config_never_prints_secrets(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(FILE_CANARY)
    path = write(tmp_path, VENUE + f'api_secret_file = "{tmp_path / "secret"}"\n')
    result = arbiter("check-config", "-c", str(path), env={"ARBITER_VENUES__X__API_KEY": CANARY})
    assert result.returncode == 0, result.stderr
    assert CANARY not in result.stdout + result.stderr
    assert FILE_CANARY not in result.stdout + result.stderr
    assert json.loads(result.stdout)["venues"]["x"]["api_key"] == "**********"
