"""The daemon's status socket: a unix stream socket in the runtime directory that answers one
JSON request line (`{"depth": N}`) with one JSON document, for `arbiter status`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from arbiter.logging import get_logger

log = get_logger("arbiter.status")

Report = Callable[[int], dict[str, Any]]
Control = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
MAX_DEPTH = 1000


def socket_path(runtime_dir: Path, instance: str) -> Path:
    return runtime_dir / f"{instance}.sock"


async def serve_status(path: Path, report: Report, control: Control) -> asyncio.Server:
    """Answers `{"depth": N}` with the report, and `{"command": ...}` (halt, resume) through
    `control`. The socket is the daemon user's alone (mode 0600 in a 0700 directory)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # left over from a daemon that did not stop cleanly

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(30):  # a halt with flatten trades first
                request = json.loads(await reader.readline() or b"{}")
                if "command" in request:
                    answer = await control(request)
                else:
                    answer = report(max(0, min(int(request.get("depth", 5)), MAX_DEPTH)))
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (TimeoutError, ValueError, AttributeError, ConnectionError) as error:
            log.warning("status_request_failed", error=str(error))
        finally:
            writer.close()

    server = await asyncio.start_unix_server(answer, path=str(path))
    path.chmod(0o600)
    return server


async def ask(path: Path, request: dict[str, Any]) -> dict[str, Any]:
    async with asyncio.timeout(30):
        reader, writer = await asyncio.open_unix_connection(str(path))
        try:
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            answer: dict[str, Any] = json.loads(await reader.readline())
            return answer
        finally:
            writer.close()
