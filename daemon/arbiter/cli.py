"""The `arbiter` command. Exit codes: 0 clean stop, 2 bad usage or config, 1 unexpected failure."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from arbiter import __version__
from arbiter.config import DEFAULT_CONFIG, Settings, load_settings, redacted
from arbiter.errors import ConfigError
from arbiter.logging import SecretRedactor, configure_logging, get_logger

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbiter", description=__doc__)
    parser.add_argument("--version", action="version", version=f"arbiter {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check-config", help="print the resolved configuration (secrets redacted) and exit"
    )
    _add_config_option(check)
    return parser


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"TOML configuration file (default: {DEFAULT_CONFIG})",
    )


def check_config(settings: Settings, redactor: SecretRedactor) -> int:
    text = json.dumps(redacted(settings), indent=2, sort_keys=True)
    # Belt and braces: the dump masks SecretStr fields, the redactor anything else.
    print(redactor.redact_text(text))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"arbiter: {error}", file=sys.stderr)
        return EXIT_USAGE
    redactor = configure_logging(settings.logging, settings.secrets())
    try:
        if args.command == "check-config":
            return check_config(settings, redactor)
        raise AssertionError(f"unhandled command {args.command!r}")
    except Exception:
        get_logger("arbiter.cli").exception("crashed", command=args.command)
        return EXIT_FAILURE
