"""The systemd notify protocol: datagrams to $NOTIFY_SOCKET (READY, WATCHDOG, STATUS, STOPPING).

Without $NOTIFY_SOCKET (not under systemd) every call does nothing.
"""

from __future__ import annotations

import os
import socket

from arbiter.logging import get_logger

log = get_logger("arbiter.systemd")


class Notifier:
    def __init__(self, address: str | None) -> None:
        # A leading "@" names a socket in the abstract namespace.
        self._address = "\0" + address[1:] if address and address.startswith("@") else address
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @classmethod
    def from_environment(cls) -> Notifier:
        return cls(os.environ.get("NOTIFY_SOCKET"))

    @staticmethod
    def watchdog_interval() -> float | None:
        """Half of systemd's watchdog timeout, in seconds, when the watchdog is on for us."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and int(pid) != os.getpid()):
            return None
        return int(usec) / 1_000_000 / 2

    def notify(self, *fields: str) -> None:
        if self._socket is None or self._address is None:
            return
        try:
            self._socket.sendto("\n".join(fields).encode(), self._address)
        except OSError as error:
            # systemd going away must not take the daemon with it.
            log.warning("notify_failed", error=str(error))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
