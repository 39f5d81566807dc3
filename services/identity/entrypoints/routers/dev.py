"""Dev mode only (mounted when DEV_MODE is on): mint what the fake providers would hand the
console, a provider assertion or a solved captcha."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import Field, StrictBool

from services.identity.adapters.fakes import minting_captcha, minting_idp
from services.identity.entrypoints.dependencies import context
from services.identity.entrypoints.routers.schemas import EMAIL, IDENTIFIER
from services.identity.service_layer.context import IdentityContext
from shared.events import LoginMethodKind
from shared.inputs import RequestModel as BaseModel

router = APIRouter(prefix="/dev", tags=["dev"])


class AssertionIn(BaseModel):
    kind: LoginMethodKind
    unionid: str | None = Field(
        default=None, max_length=IDENTIFIER, description="WeChat: the person's UnionID."
    )
    openid: str | None = Field(default=None, max_length=IDENTIFIER)
    app_id: str | None = Field(
        default=None, max_length=IDENTIFIER, description="Official Account / Mini Program app id."
    )
    subtype: Literal["official_account", "mini_program"] | None = None
    permissions: list[Annotated[str, Field(max_length=IDENTIFIER)]] | None = Field(
        default=None, max_length=16
    )
    revoked: StrictBool = False


class CaptchaTicketIn(BaseModel):
    identifier: str = Field(
        max_length=EMAIL,
        description="Whom the captcha is solved for: the login email (the ticket is bound "
        "to it and passes once).",
        examples=["alice@example.com"],
    )


@router.post("/assertions", status_code=201)
async def mint_assertion(
    body: AssertionIn, ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """What WeChat/QQ/WeCom OAuth would hand the console, signed by the fake provider."""
    return {
        "assertion": minting_idp(ctx.idp).mint(
            body.kind,
            unionid=body.unionid,
            openid=body.openid,
            app_id=body.app_id,
            subtype=body.subtype,
            permissions=body.permissions,
            revoked=body.revoked,
        )
    }


@router.post("/captcha-tickets", status_code=201)
async def mint_captcha(
    body: CaptchaTicketIn, ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """A solved captcha, as the captcha widget would hand the console."""
    return {"ticket": minting_captcha(ctx.captcha).mint(body.identifier)}
