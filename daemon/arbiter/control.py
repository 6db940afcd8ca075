"""Signed control messages: HMAC-SHA256 over the message, a timestamp within a window, and a
nonce never seen before. Anything else is refused and changes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

COMMANDS = ("pause", "resume", "halt", "set-risk", "reload")


def canonical(message: dict[str, Any]) -> bytes:
    body = {key: value for key, value in message.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(
    command: str, args: dict[str, Any], secret: str, now: float | None = None
) -> dict[str, Any]:
    """A control message ready to publish on `.../control/<command>`."""
    message: dict[str, Any] = {
        "command": command,
        "args": args,
        "ts": time.time() if now is None else now,
        "nonce": secrets.token_hex(16),
    }
    message["signature"] = hmac.new(secret.encode(), canonical(message), hashlib.sha256).hexdigest()
    return message


class ControlRejectedError(Exception):
    """Why a control message was refused."""


@dataclass
class Verifier:
    secret: str | None
    window: float
    #: Remembers a nonce; returns False if it was seen before (journal-backed across restarts).
    remember_nonce: Callable[[str, float], bool]

    def verify(
        self, topic_command: str, payload: bytes, now: float | None = None
    ) -> dict[str, Any]:
        if self.secret is None:
            raise ControlRejectedError("control is disabled: no control_secret configured")
        try:
            message = json.loads(payload)
            command, signature = message["command"], message["signature"]
            ts, nonce = float(message["ts"]), str(message["nonce"])
        except (ValueError, KeyError, TypeError):
            raise ControlRejectedError("malformed message") from None
        expected = hmac.new(self.secret.encode(), canonical(message), hashlib.sha256).hexdigest()
        if not isinstance(signature, str) or not hmac.compare_digest(signature, expected):
            raise ControlRejectedError("bad signature")
        if command != topic_command or command not in COMMANDS:
            raise ControlRejectedError(
                f"command {command!r} does not match topic {topic_command!r}"
            )
        now = time.time() if now is None else now
        if abs(now - ts) > self.window:
            raise ControlRejectedError(f"timestamp outside the {self.window:.0f}s window")
        if not self.remember_nonce(nonce, ts):
            raise ControlRejectedError("replayed nonce")
        return dict(message)
