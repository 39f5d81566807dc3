"""Projects of the account (PRJ-1)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends

from services.identity.entrypoints.dependencies import account_id_of, caller, context
from services.identity.entrypoints.routers.schemas import ProjectIn
from services.identity.service_layer import projects as project_cases
from services.identity.service_layer.context import IdentityContext
from shared.auth import Caller

router = APIRouter(tags=["projects"])


def project_view(row: Any) -> dict[str, Any]:
    return {
        "project_id": str(row.project_id),
        "name": row.name,
        "description": row.description,
        "enabled": row.enabled,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


@router.post("/projects", status_code=201)
async def create_project(
    body: ProjectIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    row = await project_cases.create_project(ctx, account_id_of(who), body.name, body.description)
    return project_view(row)


@router.get("/projects")
async def list_projects(
    include_disabled: bool = False,
    who: Caller = Depends(caller),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """PRJ-1: disabled projects are hidden unless asked for."""
    rows = await project_cases.projects_of(ctx, account_id_of(who), include_disabled)
    return {"projects": [project_view(r) for r in rows]}


@router.post("/projects/{project_id}/disable")
async def disable_project(
    project_id: uuid.UUID, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    return project_view(await project_cases.set_enabled(ctx, account_id_of(who), project_id, False))


@router.post("/projects/{project_id}/enable")
async def enable_project(
    project_id: uuid.UUID, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    return project_view(await project_cases.set_enabled(ctx, account_id_of(who), project_id, True))
