"""A real Mosquitto for tests: plain or TLS with passwords, on a free port, in a temp dir."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Broker:
    directory: Path
    port: int
    config: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.directory / "mosquitto.log").open("ab") as log:
            self.process = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def plain_broker(directory: Path) -> Broker:
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    return Broker(directory, port, config)


def tls_broker(directory: Path, username: str, password: str) -> Broker:
    """TLS with a throwaway CA, and a password file: anonymous clients refused."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=arbiter-test-ca",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "1",
        "-extfile",
        "san.ext",
    )
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(directory / "passwd"), username, password],
        check=True,
        capture_output=True,
    )
    (directory / "passwd").chmod(0o600)
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        # Started as root, mosquitto would drop to its own user and not read these files.
        f"user {getpass.getuser()}\n"
        f"listener {port} 127.0.0.1\n"
        f"cafile {directory / 'ca.crt'}\n"
        f"certfile {directory / 'server.crt'}\n"
        f"keyfile {directory / 'server.key'}\n"
        "allow_anonymous false\n"
        f"password_file {directory / 'passwd'}\n"
        "persistence false\n"
    )
    return Broker(directory, port, config)
