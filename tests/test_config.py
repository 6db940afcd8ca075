"""`arbiter check-config`: the resolved, redacted config, or one line naming the problem, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arbiter.config import Settings, load_settings
from arbiter.errors import ConfigError
from tests.conftest import write_config
from tests.harness import arbiter

VENUE = '[venues.x]\nexchange = "binance"\nsymbols = ["BTC/USDT"]\n'


def write(tmp_path: Path, text: str) -> Path:
    return write_config(tmp_path, text)


def test_version() -> None:
    result = arbiter("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("arbiter 0.")


def test_default_config_resolves() -> None:
    result = arbiter("check-config", "-c", "config/default.toml")
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    assert resolved["mode"] == "paper"
    assert resolved["venues"]["binance_spot"]["symbols"] == ["BTC/USDT"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('instance = "a"\nbogus = 1\n', "key bogus: unknown key", id="unknown-key"),
        pytest.param(
            "[logging]\nverbosity = 3\n", "key logging.verbosity: unknown key", id="nested-unknown"
        ),
        pytest.param("[logging]\nlevel = 5\n", "key logging.level: Input should be", id="type"),
        pytest.param(
            VENUE + 'taker_fee = "lots"\n', "key venues.x.taker_fee:", id="wrong-type-deep"
        ),
        pytest.param("[logging\n", "invalid TOML: Expected ']'", id="invalid-toml"),
        pytest.param(
            VENUE + 'api_key = "hunter2-canary"\n',
            "key venues.x.api_key: secrets may not be written in the config file",
            id="inline-secret",
        ),
        pytest.param(
            VENUE + 'api_key_file = "/nonexistent/key"\n',
            "key venues.x.api_key_file: cannot read /nonexistent/key",
            id="missing-credential",
        ),
    ],
)
def test_bad_config_exits_2_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    result = arbiter("check-config", "-c", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert message in lines[0]
    assert "hunter2-canary" not in result.stderr


def test_missing_and_unreadable_files_exit_2(tmp_path: Path) -> None:
    missing = arbiter("check-config", "-c", str(tmp_path / "absent.toml"))
    assert missing.returncode == 2
    assert missing.stderr.strip().endswith(
        "absent.toml: cannot read config: No such file or directory"
    )
    directory = arbiter("check-config", "-c", str(tmp_path))
    assert directory.returncode == 2
    assert len(directory.stderr.splitlines()) == 1


def test_environment_overrides_nested_keys(tmp_path: Path) -> None:
    path = write(tmp_path, VENUE + '[logging]\nlevel = "info"\n')
    result = arbiter(
        "check-config",
        "-c",
        str(path),
        env={"ARBITER_LOGGING__LEVEL": "debug", "ARBITER_VENUES__X__TAKER_FEE": "0.0004"},
    )
    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout)
    assert resolved["logging"]["level"] == "debug"
    assert resolved["venues"]["x"]["taker_fee"] == "0.0004"


def test_bad_environment_value_exits_2(tmp_path: Path) -> None:
    result = arbiter("check-config", "-c", str(write(tmp_path, "")), env={"ARBITER_MODE": "yolo"})
    assert result.returncode == 2
    assert "key mode:" in result.stderr


def test_secrets_from_environment_and_credential_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "binance_secret").write_text("file-secret-value\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("ARBITER_VENUES__X__API_KEY", "env-key-value")
    settings = load_settings(write(tmp_path, VENUE + 'api_secret_file = "binance_secret"\n'))
    venue = settings.venues["x"]
    assert venue.api_key is not None
    assert venue.api_key.get_secret_value() == "env-key-value"
    assert venue.api_secret is not None
    assert venue.api_secret.get_secret_value() == "file-secret-value"
    assert sorted(settings.secrets()) == ["env-key-value", "file-secret-value"]


def test_settings_are_immutable(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))
    with pytest.raises(ValueError, match="frozen"):
        settings.mode = "live"  # type: ignore[misc]


def test_state_and_runtime_dirs_follow_systemd_then_arbiter_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "")
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/arbiter:/var/lib/other")
    monkeypatch.setenv("RUNTIME_DIRECTORY", "/run/arbiter")
    settings = load_settings(path)
    assert (settings.state_dir, settings.runtime_dir) == (
        Path("/var/lib/arbiter"),
        Path("/run/arbiter"),
    )
    monkeypatch.setenv("ARBITER_STATE_DIR", "/srv/state")
    assert load_settings(path).state_dir == Path("/srv/state")
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.delenv("ARBITER_STATE_DIR")
    monkeypatch.delenv("RUNTIME_DIRECTORY")
    settings = load_settings(path)
    assert settings.state_dir == Path("state")
    assert settings.runtime_dir.name.startswith("arbiter-")


def test_load_settings_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        load_settings(write(tmp_path, "nope = 1\n"))
    assert isinstance(load_settings(write(tmp_path, "")), Settings)


def test_live_mode_needs_the_confirming_environment_variable(tmp_path: Path) -> None:
    path = write(tmp_path, 'mode = "live"\n')
    refused = arbiter("run", "-c", str(path))
    assert refused.returncode == 2
    assert "ARBITER_CONFIRM_LIVE=yes" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
