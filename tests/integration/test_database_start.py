"""Instances of one service starting together create their database once, and none fails."""

from __future__ import annotations

import asyncio

import pytest

from devkit.testing.infra import Scope
from shared.db import drop_database, ensure_database

pytestmark = pytest.mark.integration


async def test_instances_starting_together_create_their_database_once(scope: Scope) -> None:
    server, name = scope.infra.postgres_dsn, f"{scope.prefix}race"
    try:
        created = await asyncio.gather(*(ensure_database(server, name) for _ in range(8)))

        assert sorted(created) == [False] * 7 + [True]
    finally:
        await drop_database(server, name)
