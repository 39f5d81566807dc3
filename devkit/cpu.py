"""CPU seconds of processes from /proc, for the benchmarks: what a message or a login costs in
every process that serves it, which holds better than wall-clock rates on a shared machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg


def cpu_s(pid: int, thread: int | None = None) -> float:
    """CPU seconds (user + system) a process has used so far, all its threads or only the
    one `thread` (a native thread id: the process id is its main thread); 0 once gone."""
    stat = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def backend_pids(postgres_dsn: str, database: str) -> list[int]:
    """The PostgreSQL server processes serving the database's connections (same machine)."""
    conn = await asyncpg.connect(f"{postgres_dsn}/{database}")
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        return [row["pid"] for row in rows]
    finally:
        await conn.close()


@dataclass
class CpuMeter:
    """CPU seconds of named groups of processes over a measured phase."""

    pids: dict[str, list[int]]
    start: dict[int, float]

    @classmethod
    def begin(cls, pids: dict[str, list[int]]) -> CpuMeter:
        return cls(pids, {pid: cpu_s(pid) for group in pids.values() for pid in group})

    def used(self, pids: dict[str, list[int]]) -> dict[str, float]:
        return {
            name: sum(cpu_s(pid) - self.start.get(pid, 0.0) for pid in group)
            for name, group in pids.items()
        }
