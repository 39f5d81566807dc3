"""Checks (and where possible starts) the local Redis and PostgreSQL the services need."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
]


class MissingDependency(RuntimeError):
    """A server the services need is neither running nor startable here."""


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _wait(host: str, port: int, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not _answers(host, port):
        if time.monotonic() > deadline:
            raise MissingDependency(f"{what} did not come up on {host}:{port}")
        time.sleep(0.2)


def ensure_redis(url: str) -> str:
    """Redis answering at url, started with redis-server when it is local and stopped."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    if _answers(host, port):
        return f"Redis answers on {host}:{port}"
    if host not in {"127.0.0.1", "localhost"} or port != 6379 or not shutil.which("redis-server"):
        raise MissingDependency(
            f"Redis is not answering on {host}:{port}. Install it (apt-get install redis-server) "
            "or point REDIS_URL at a running server."
        )
    subprocess.run(REDIS_START, check=True, capture_output=True)
    _wait(host, port, "Redis")
    return f"Redis was stopped; started it on {host}:{port}"


def ensure_postgres(dsn: str) -> str:
    """PostgreSQL answering at dsn, started with pg_ctlcluster when it is local and stopped."""
    parsed = urlparse(dsn)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5432
    if _answers(host, port):
        return f"PostgreSQL answers on {host}:{port}"
    clusters = Path("/etc/postgresql")
    if (
        host not in {"127.0.0.1", "localhost"}
        or not shutil.which("pg_ctlcluster")
        or not clusters.is_dir()
    ):
        raise MissingDependency(
            f"PostgreSQL is not answering on {host}:{port}. Install it (apt-get install "
            "postgresql) or point POSTGRES_DSN at a running server."
        )
    for version in sorted(p.name for p in clusters.iterdir()):
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
            capture_output=True,
        )
    _wait(host, port, "PostgreSQL")
    return f"PostgreSQL was stopped; started it on {host}:{port}"


# Command-line tools some tests check our code against, and the Debian package of each.
TEST_TOOLS = {"oathtool": "oathtool"}  # MFA-1: an independent TOTP generator


def ensure_test_tools() -> str:
    """Install the missing TEST_TOOLS with apt-get where we may (root on Debian); otherwise say
    which are missing (the tests that need one are skipped with the reason)."""
    import os

    missing = [pkg for tool, pkg in TEST_TOOLS.items() if shutil.which(tool) is None]
    if not missing:
        return f"test tools present: {', '.join(TEST_TOOLS)}"
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return f"test tools missing (their tests are skipped): {', '.join(missing)}"
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, capture_output=True)
    return f"installed test tools: {', '.join(missing)}"


async def drop_databases(dsn: str, prefix: str) -> list[str]:
    """Drop every database whose name starts with prefix."""
    import asyncpg

    conn = await asyncpg.connect(f"{dsn.rstrip('/')}/postgres")
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", prefix + "%"
        )
        for row in rows:
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        return [str(row["datname"]) for row in rows]
    finally:
        await conn.close()


async def drop_redis_keys(url: str, prefix: str) -> int:
    """Delete every key that starts with prefix."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


def main() -> None:
    """`python -m devkit.infra`: make sure Redis and PostgreSQL answer (tests, CI);
    with `--reset`, drop the dev databases and Redis keys (DATABASE_PREFIX, REDIS_KEY_PREFIX)."""
    import asyncio
    import os
    import sys

    if sys.argv[1:] == ["--reset"]:
        dsn = os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432")
        for name in asyncio.run(drop_databases(dsn, os.environ.get("DATABASE_PREFIX", "account_"))):
            print(f"dropped database {name}")
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        prefix = os.environ.get("REDIS_KEY_PREFIX", "acct:")
        print(f"deleted {asyncio.run(drop_redis_keys(redis_url, prefix))} Redis keys {prefix}*")
        return
    try:
        print(ensure_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")))
        print(
            ensure_postgres(os.environ.get("POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432"))
        )
        print(ensure_test_tools())
    except MissingDependency as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
