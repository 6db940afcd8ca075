"""Every error arbiter raises on purpose, in one tree.

Book integrity errors come from the Rust core (`arbiter.books`) and share the `BookError` root.
"""

from arbiter.books import BookError


class ArbiterError(Exception):
    """Root of arbiter's own errors."""


class ConfigError(ArbiterError):
    """The configuration cannot be used; the message is one line naming the file and the key."""


__all__ = ["ArbiterError", "BookError", "ConfigError"]
