"""arbiter: an async crypto trading daemon for small accounts, with a Rust order-book core."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("arbiter")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
