"""HTTP routes of identity: parse, call the use case, shape the reply. Nothing else."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.identity.adapters.accounts_repository import get_account
from services.identity.service_layer.registration import register_by_email
from shared.masking import mask_email
from shared.runtime import Runtime, get_runtime

router = APIRouter(prefix="/v1", tags=["accounts"])


class RegisterByEmail(BaseModel):
    email: str = Field(description="Login email.", examples=["alice@example.com"])
    language: str = Field(default="zh-CN", description="zh-CN or en.", examples=["en"])


class AccountView(BaseModel):
    account_id: str = Field(description="Immutable numeric account ID (ACC-1).")
    status: str = Field(description="active, frozen or cancelled.")
    login_email: str | None = Field(description="Login email, masked.")
    registered_at: datetime


@router.post("/accounts", status_code=201, response_model=AccountView)
async def register_account(
    body: RegisterByEmail, runtime: Runtime = Depends(get_runtime)
) -> AccountView:
    registered = await register_by_email(runtime, email=body.email, language=body.language)
    return AccountView(
        account_id=registered.account_id,
        status="active",
        login_email=mask_email(registered.email),
        registered_at=registered.registered_at,
    )


@router.get("/accounts/{account_id}", response_model=AccountView)
async def show_account(account_id: int, runtime: Runtime = Depends(get_runtime)) -> AccountView:
    async with runtime.engine.connect() as conn:
        row = await get_account(conn, account_id)
    return AccountView(
        account_id=str(row.account_id),
        status=str(row.status),
        login_email=mask_email(str(row.contact_email)) if row.contact_email else None,
        registered_at=row.registered_at,  # type: ignore[arg-type]
    )
