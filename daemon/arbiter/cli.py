"""The `arbiter` command. Exit codes: 0 clean stop, 2 bad usage or config, 1 unexpected failure."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from arbiter import __version__
from arbiter.config import DEFAULT_CONFIG, LoggingSettings, Settings, load_settings, redacted
from arbiter.errors import ConfigError
from arbiter.logging import SecretRedactor, configure_logging, get_logger
from arbiter.sim.faults import Fault

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
#: Live trading needs this set to "yes" as well as mode = "live" in the configuration.
LIVE_CONFIRMATION = "ARBITER_CONFIRM_LIVE"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arbiter", description=__doc__)
    parser.add_argument("--version", action="version", version=f"arbiter {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check-config", help="print the resolved configuration (secrets redacted) and exit"
    )
    _add_config_option(check)

    run = commands.add_parser("run", help="run the daemon until SIGTERM or SIGINT")
    _add_config_option(run)

    status = commands.add_parser("status", help="ask the running daemon how its books are")
    _add_config_option(status)
    status.add_argument("--json", action="store_true", help="print the raw JSON answer")
    status.add_argument("--depth", type=int, default=5, help="levels per side to show")

    spend = commands.add_parser(
        "spend", help="AI spend today and this month, budget left, mix and return on AI"
    )
    _add_config_option(spend)
    spend.add_argument("--json", action="store_true", help="print the report as JSON")

    halt = commands.add_parser("halt", help="kill switch: stop taking new risk")
    _add_config_option(halt)
    halt.add_argument("--flatten", action="store_true", help="also sell every asset held")
    halt.add_argument("--reason", default="operator")
    resume = commands.add_parser("resume", help="clear halts and trade again")
    _add_config_option(resume)

    ctl = commands.add_parser("ctl", help="send a signed command over MQTT and wait for its ack")
    _add_config_option(ctl)
    ctl.add_argument(
        "command_name", metavar="command", choices=["pause", "resume", "halt", "set-risk", "reload"]
    )
    ctl.add_argument("--flatten", action="store_true", help="halt: also sell every asset held")
    ctl.add_argument("--limit", help="set-risk: the limit, e.g. max_order_notional")
    ctl.add_argument("--value", help="set-risk: its new value")
    ctl.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the ack")

    train = commands.add_parser(
        "train", help="train the attention signal on recordings; write weights and a report"
    )
    train.add_argument("--data", type=Path, nargs="+", required=True, help="recordings (.gz)")
    train.add_argument("--out", type=Path, required=True, help="weights file (.safetensors)")
    train.add_argument("--epochs", type=int, default=12)
    train.add_argument("--horizon", type=int, default=50, help="book updates ahead to label")
    train.add_argument("--threshold-bps", type=float, default=0.5, help="a move beyond is up/down")
    train.add_argument("--seed", type=int, default=0)

    sim = commands.add_parser("sim", help="simulators for development and tests")
    sims = sim.add_subparsers(dest="simulator", required=True, metavar="SIMULATOR")
    exchange = sims.add_parser(
        "exchange", help="replay recordings over Binance's public REST and websocket protocols"
    )
    exchange.add_argument("--data", type=Path, nargs="+", required=True, help="recordings (.gz)")
    exchange.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    exchange.add_argument(
        "--speed", type=float, default=1.0, help="replay speed; 0 = as fast as possible"
    )
    exchange.add_argument("--once", action="store_true", help="stop after one pass, no loop")
    exchange.add_argument(
        "--wait-subscribers",
        type=int,
        default=0,
        metavar="N",
        help="hold the replay until N websocket connections have subscribed",
    )
    exchange.add_argument(
        "--fault",
        type=Fault.parse,
        action="append",
        default=[],
        metavar="SPEC",
        help="KIND[@SECONDS][:key=value,...]; kinds drop, gap (count), freeze (seconds), "
        "malformed (count), rest (status, count); market=spot|linear|inverse narrows it",
    )
    exchange.add_argument("--log-format", choices=["json", "console"], default="console")
    exchange.add_argument("--api-key", help="open a spot account with this key (private API)")
    exchange.add_argument("--api-secret", help="the account's HMAC secret")
    exchange.add_argument(
        "--balance",
        action="append",
        default=[],
        metavar="ASSET=AMOUNT",
        help="the account's opening balance of an asset (repeatable)",
    )
    demo = sims.add_parser(
        "demo", help="run the emulator on the bundled recordings and the daemon against it"
    )
    demo.add_argument("-c", "--config", type=Path, default=Path("config/demo.toml"))
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


def run(settings: Settings, config_path: Path) -> int:
    import uvloop

    if settings.mode == "live" and os.environ.get(LIVE_CONFIRMATION) != "yes":
        print(
            f'arbiter: mode = "live" also needs {LIVE_CONFIRMATION}=yes in the environment',
            file=sys.stderr,
        )
        return EXIT_USAGE

    from arbiter.app import run_daemon

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run_daemon(settings, config_path))
    return EXIT_OK


def _ask_daemon(settings: Settings, request: dict[str, object]) -> dict[str, Any] | None:
    """The running daemon's answer over its status socket, or None (said on stderr)."""
    from arbiter.status import ask, socket_path

    path = socket_path(settings.runtime_dir, settings.instance)
    try:
        return asyncio.run(ask(path, request))
    except (OSError, TimeoutError) as error:
        print(f"arbiter: no daemon answering on {path}: {error}", file=sys.stderr)
        return None


def status(settings: Settings, as_json: bool, depth: int) -> int:
    answer = _ask_daemon(settings, {"depth": depth})
    if answer is None:
        return EXIT_FAILURE
    if as_json:
        print(json.dumps(answer, indent=2))
        return EXIT_OK
    print(f"{answer['instance']} ({answer['mode']}), ready: {answer['ready']}")
    for book in answer["books"]:
        bid, ask = book["best_bid"], book["best_ask"]
        top = f"{bid[0]} / {ask[0]}" if bid and ask else "-"
        age = "-" if book["age_ms"] is None else f"{book['age_ms'] / 1000:.1f}s"
        print(
            f"  {book['venue']:<16} {book['symbol']:<16} {book['state']:<10} age {age:<7} "
            f"{book['updates_per_s']:>7.1f}/s  resyncs {book['resyncs']:<3} {top}"
        )
        for (bp, bs), (ap, as_) in zip(book["bids"], book["asks"], strict=False):
            print(f"      {bs:>14.6f} {bp:>14.2f} | {ap:<14.2f} {as_:<14.6f}")
    trading = answer["trading"]
    print(
        f"equity {trading['equity']} (opened {trading['initial_equity']}), realised "
        f"{trading['realised']}, fees {trading['fees']}, unrealised {trading['unrealised']}, "
        f"today {trading['today_pnl']}"
    )
    for balance in trading["balances"]:
        print(f"  {balance['venue']:<16} {balance['asset']:<8} {balance['amount']}")
    print(f"decisions today {trading['decisions_today']}, open {trading['open_decisions']}")
    for halt in trading["halts"]:
        print(f"HALTED: {halt['reason']}")
    return EXIT_OK


def spend(settings: Settings, as_json: bool) -> int:
    from arbiter.governor.report import format_report, spend_report

    report = spend_report(settings)
    print(json.dumps(report, indent=2) if as_json else format_report(report))
    return EXIT_OK


def send_command(settings: Settings, command: dict[str, object]) -> int:
    answer = _ask_daemon(settings, command)
    if answer is None:
        return EXIT_FAILURE
    print(json.dumps(answer))
    return EXIT_OK if answer.get("ok") else EXIT_FAILURE


def sim_exchange(args: argparse.Namespace) -> int:
    from arbiter.sim.exchange import serve

    configure_logging(LoggingSettings(format=args.log_format))
    from decimal import Decimal

    from arbiter.sim.account import Account

    account = None
    if args.api_key:
        balances = {
            asset: Decimal(amount)
            for asset, _, amount in (spec.partition("=") for spec in args.balance)
        }
        account = Account(args.api_key, args.api_secret or "", balances)
    emulator = serve(
        args.data,
        port=args.port,
        speed=args.speed,
        loop=not args.once,
        faults=args.fault,
        wait_subscribers=args.wait_subscribers,
        account=account,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(emulator)
    return EXIT_OK


def train(args: argparse.Namespace) -> int:
    from arbiter.attention.train import TrainSettings
    from arbiter.attention.train import train as fit

    configure_logging(LoggingSettings(format="console"))
    settings = TrainSettings(
        epochs=args.epochs, horizon=args.horizon, threshold_bps=args.threshold_bps, seed=args.seed
    )
    report = fit(args.data, args.out, settings)
    results = report["results"]
    print(f"wrote {args.out} and {args.out.with_suffix('.report.json')} in {report['seconds']} s")
    print(f"held-out samples {report['samples']['test']}, labels {report['test_labels']}")
    for name, metrics in results.items():
        move = metrics["mean_move_per_trade_bps"]
        print(
            f"  {name:<20} accuracy {metrics['accuracy']:.3f}  log-loss {metrics['log_loss']:.4f}"
            f"  trades {metrics['trades']:>5}  move/trade {move:+.3f} bps"
        )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sim":
        return _simulate(args)
    if args.command == "train":
        return _guarded(args, lambda: train(args))
    try:
        settings = load_settings(args.config)
    except ConfigError as error:
        print(f"arbiter: {error}", file=sys.stderr)
        return EXIT_USAGE
    return _dispatch(args, settings)


def _simulate(args: argparse.Namespace) -> int:
    if args.simulator == "demo":
        from arbiter.sim.demo import run_demo

        return run_demo(args.config)
    return _guarded(args, lambda: sim_exchange(args))


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "status":
        return status(settings, args.json, args.depth)
    if args.command == "spend":
        return spend(settings, args.json)
    if args.command in ("halt", "resume"):
        command: dict[str, object] = {"command": args.command}
        if args.command == "halt":
            command |= {"flatten": args.flatten, "reason": args.reason}
        return send_command(settings, command)
    if args.command == "ctl":
        from arbiter.ctl import send

        arguments: dict[str, object] = {}
        if args.command == "ctl" and args.flatten:
            arguments["flatten"] = True
        if args.limit is not None:
            arguments |= {"limit": args.limit, "value": args.value}
        return send(settings, args.command_name, arguments, args.timeout)
    redactor = configure_logging(settings.logging, settings.secrets())
    if args.command == "run":
        return _guarded(args, lambda: run(settings, args.config))
    return _guarded(args, lambda: check_config(settings, redactor))


def _guarded(args: argparse.Namespace, command: Callable[[], int]) -> int:
    try:
        return command()
    except Exception:
        get_logger("arbiter.cli").exception("crashed", command=args.command)
        return EXIT_FAILURE
