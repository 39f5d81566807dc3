"""Running a service in-process (its real lifespan, real HTTP over ASGI) or as an OS process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
from fastapi import FastAPI

from devkit.broker import free_port
from shared.service import ServiceSpec, create_app


@contextlib.asynccontextmanager
async def running(spec: ServiceSpec) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Start the service's lifespan (database, topics, relay, subscribers) and an HTTP client."""
    app = create_app(spec)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield app, client


class ServiceProcess:
    """A service's console command as a child process on a free port."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.env = {**env, "HTTP_PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        command = Path(sys.executable).parent / f"{self.name}-service"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(command)], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready in {timeout_s}s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def service_processes(
    names: list[str], env: dict[str, str], log_dir: Path
) -> Iterator[dict[str, ServiceProcess]]:
    """The services as processes, started together; when identity is among them, the others
    verify access tokens with its JWKS (IDENTITY_JWKS_URL), as in a deployment."""
    procs: dict[str, ServiceProcess] = {}
    if "identity" in names:
        procs["identity"] = ServiceProcess("identity", env, log_dir)
        env = {**env, "IDENTITY_JWKS_URL": f"{procs['identity'].url}/.well-known/jwks.json"}
    procs |= {name: ServiceProcess(name, env, log_dir) for name in names if name not in procs}
    try:
        for proc in procs.values():
            proc.start()
        for proc in procs.values():
            proc.wait_ready()
        yield procs
    finally:
        for proc in procs.values():
            proc.stop()
