"""Reading a TOML file into a pydantic model, with every problem as one line naming the file and
the key (the configuration and the price list share it)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from arbiter.errors import ConfigError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read {what}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    key = ".".join(str(part) for part in problem["loc"])
    message = "unknown key" if problem["type"] == "extra_forbidden" else problem["msg"]
    return f"key {key}: {message}" if key else message
