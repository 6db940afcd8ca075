"""Every error arbiter raises on purpose, in one tree.

Book integrity errors come from the Rust core (`arbiter.books`) and share the `BookError` root.
"""

from arbiter.books import BookError


class ArbiterError(Exception):
    """Root of arbiter's own errors."""


class ConfigError(ArbiterError):
    """The configuration cannot be used; the message is one line naming the file and the key."""


class InsufficientBalanceError(ArbiterError):
    """A trade would take a balance below zero; nothing was changed."""


class OrderRejectedError(ArbiterError):
    """A risk limit refused an order; `limit` names it."""

    def __init__(self, limit: str, detail: str) -> None:
        super().__init__(f"{limit}: {detail}")
        self.limit = limit
        self.detail = detail


__all__ = [
    "ArbiterError",
    "BookError",
    "ConfigError",
    "InsufficientBalanceError",
    "OrderRejectedError",
]
