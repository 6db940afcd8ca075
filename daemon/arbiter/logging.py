"""Structured logging: one stream of JSON lines (or console lines) on stdout, for journald.

structlog and the standard library loggers of third parties (ccxt, aiomqtt, the LLM SDKs) go
through the same processors, so every line has a UTC ISO timestamp, level, event and logger,
and every line passes the secret redactor last, after exceptions have been formatted.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import IO, Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from arbiter.config import LoggingSettings

REDACTED = "[REDACTED]"
_PLAIN = (int, float, bool, type(None))


class SecretRedactor:
    """Masks every occurrence of the configured secrets, in any key or value at any depth."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is masked whole.
        unique = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, unique))) if unique else None

    def __call__(self, _logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        if self._pattern is None:
            return event
        cleaned = self._clean(event)
        assert isinstance(cleaned, dict)
        return cleaned

    def redact_text(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, MutableMapping | dict):
            return {self._clean(k): self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean(item) for item in value]
        # Anything else would be rendered through its repr, which may carry a secret.
        return self.redact_text(repr(value))


def configure_logging(
    settings: LoggingSettings, secrets: Iterable[str] = (), stream: IO[str] | None = None
) -> SecretRedactor:
    """Routes structlog and the standard library through one redacting renderer."""
    redactor = SecretRedactor(secrets)
    level = getattr(logging, settings.level.upper())
    common: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if settings.format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *common,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=common,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # The LLM SDKs' HTTP clients log every request at info; our own events say what matters.
    for chatty in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)
    return redactor


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
