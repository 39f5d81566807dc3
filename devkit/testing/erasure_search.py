"""Searching a whole run for a person's data (CAN-7): every table of every database, every
Redis key (name and value) and every record of every topic under the run's prefix.

A finding names where the value was seen, never the value itself in full (the needle is the
test's own), so a failure reads like an audit: `db account_x_identity.login_methods row ...`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from devkit.testing.kafka import read_all


@dataclass(frozen=True)
class Finding:
    where: str  # "db <database>.<table>", "redis <key>", "topic <topic>@<offset>"
    needle: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where}: {self.needle!r} in {self.excerpt[:160]!r}"


def _found(text: str, needles: Sequence[str]) -> list[str]:
    lowered = text.lower()
    return [n for n in needles if n.lower() in lowered]


async def search_databases(dsn: str, prefix: str, needles: Sequence[str]) -> list[Finding]:
    """Every row of every table (schema public) of the databases named `<prefix>*`, each row
    cast to text as a whole (every column, JSON and arrays included)."""
    findings: list[Finding] = []
    server = await asyncpg.connect(f"{dsn}/postgres")
    try:
        names = [
            r["datname"]
            for r in await server.fetch(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix
            )
        ]
    finally:
        await server.close()
    patterns = [f"%{n.lower()}%" for n in needles]
    for name in names:
        conn = await asyncpg.connect(f"{dsn}/{name}")
        try:
            tables = [
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public'"
                )
            ]
            for table in tables:
                # A row as text shows bytea columns (outbox values) as hex: read those as text.
                binary = [
                    r["column_name"]
                    for r in await conn.fetch(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name = $1 AND data_type = 'bytea'",
                        table,
                    )
                ]
                text = " || ' ' || ".join(
                    ["t::text", *(f"coalesce(encode(t.\"{c}\", 'escape'), '')" for c in binary)]
                )
                rows = await conn.fetch(
                    f'SELECT {text} AS row FROM "{table}" t WHERE lower({text}) LIKE ANY($1)',
                    patterns,
                )
                for row in rows:
                    for needle in _found(row["row"], needles):
                        findings.append(Finding(f"db {name}.{table}", needle, row["row"]))
        finally:
            await conn.close()
    return findings


async def _redis_value(client: Redis, key: bytes) -> str:
    kind = (await client.type(key)).decode()
    value: object
    if kind == "string":
        value = await client.get(key)
    elif kind == "hash":
        value = await client.hgetall(key)  # type: ignore[misc,arg-type]
    elif kind == "set":
        value = await client.smembers(key)  # type: ignore[misc]
    elif kind == "zset":
        value = await client.zrange(key, 0, -1, withscores=True)
    elif kind == "list":
        value = await client.lrange(key, 0, -1)  # type: ignore[misc]
    elif kind == "stream":
        value = await client.xrange(key)
    else:
        value = kind
    return repr(value)


async def search_redis(url: str, prefix: str, needles: Sequence[str]) -> list[Finding]:
    """Every key named `<prefix>*`: its name and its value, whatever its type."""
    findings: list[Finding] = []
    client = Redis.from_url(url)
    try:
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            name = key.decode(errors="replace")
            for needle in _found(name, needles):
                findings.append(Finding(f"redis key {name}", needle, name))
            value = await _redis_value(client, key)
            for needle in _found(value, needles):
                findings.append(Finding(f"redis value {name}", needle, value))
    finally:
        await client.aclose()
    return findings


async def topics_of_run(bootstrap: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith(prefix))
    finally:
        await admin.close()


def _record_text(
    key: bytes | None, value: bytes | None, headers: Iterable[tuple[str, bytes]]
) -> str:
    parts = [(key or b"").decode(errors="replace"), (value or b"").decode(errors="replace")]
    parts += [f"{k}={v.decode(errors='replace')}" for k, v in headers]
    text = "\n".join(parts)
    with contextlib.suppress(ValueError):  # JSON escapes non-ASCII: search it decoded too
        text += "\n" + json.dumps(json.loads(value or b"null"), ensure_ascii=False)
    return text


async def search_topics(
    bootstrap: str, prefix: str, needles: Sequence[str], *, skip: Sequence[str] = ()
) -> list[Finding]:
    """Every record (key, value, headers) of every topic named `<prefix>*` except `skip`."""
    findings: list[Finding] = []
    for topic in await topics_of_run(bootstrap, prefix):
        if topic in skip:
            continue
        for record in await read_all(bootstrap, topic):
            text = _record_text(record.key, record.value, record.headers)
            for needle in _found(text, needles):
                findings.append(Finding(f"topic {topic}@{record.offset}", needle, text))
    return findings
