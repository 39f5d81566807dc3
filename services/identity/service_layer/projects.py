"""PRJ-1: create, list, disable and enable projects; never delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from services.identity.domain.projects import check_project
from services.identity.service_layer.context import IdentityContext


async def create_project(ctx: IdentityContext, account_id: int, name: str, description: str) -> Any:
    name, description = check_project(name, description)
    async with ctx.runtime.uow() as uow:
        return await ctx.repo.insert_project(uow.conn, account_id, name, description, ctx.now())


async def set_enabled(
    ctx: IdentityContext, account_id: int, project_id: uuid.UUID, enabled: bool
) -> Any:
    async with ctx.runtime.uow() as uow:
        return await ctx.repo.set_project_enabled(
            uow.conn, account_id, project_id, enabled, ctx.now()
        )


async def projects_of(
    ctx: IdentityContext, account_id: int, include_disabled: bool
) -> Sequence[Any]:
    async with ctx.runtime.engine.connect() as conn:
        return await ctx.repo.list_projects(conn, account_id, include_disabled)
