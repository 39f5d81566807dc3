"""HTTP routes of identity under /v1: parse, call a use case, shape the reply. Nothing else."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field, StrictBool

from services.identity.adapters import repository as repo
from services.identity.domain.codes import CodePurpose
from services.identity.entrypoints.dependencies import caller, client_ip, context
from services.identity.service_layer import accounts as account_cases
from services.identity.service_layer import codes as code_cases
from services.identity.service_layer import login as login_cases
from services.identity.service_layer import login_methods as method_cases
from services.identity.service_layer import projects as project_cases
from services.identity.service_layer import sessions as session_cases
from services.identity.service_layer.codes import secure_destination, send_code
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.registration import Registration, register
from shared.auth import Caller
from shared.errors import AppError, error_responses
from shared.events import Channel, LoginMethodKind
from shared.inputs import ACCOUNT_ID_PATTERN
from shared.inputs import RequestModel as BaseModel
from shared.masking import mask_email, mask_phone
from shared.operators import Operator, require_operator

# Every refusal has the shared error shape; documented so clients (and the schemathesis run)
# can rely on it.
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 423, 429, 503)
router = APIRouter(prefix="/v1", responses=ERRORS)

# Length caps of the fields (ASVS 5.1.4): generous for people, small for the outbox, Redis
# and argon2. The domain rules (PWD-1's 20, PRJ-1's 64/500) stay the tighter checks.
EMAIL = 254  # RFC 5321's longest forward path
PHONE = 32
CODE = 16
PASSWORD = 128
ASSERTION = 8192
TICKET = 4096
DEVICE = 128
LANGUAGE = 16
NAME = 256
DESCRIPTION = 2000
IDENTIFIER = 128

# --- request and reply shapes ------------------------------------------------------------


class ProofIn(BaseModel):
    """PROT-2: a verify_identity code from the secure phone (sms) or secure email (email)."""

    channel: Channel = Field(description="sms or email.")
    code: str = Field(max_length=CODE, description="The 6-digit code.", examples=["123456"])

    def proof(self) -> method_cases.Proof:
        return method_cases.Proof(self.channel, self.code)


class RegisterIn(BaseModel):
    method: LoginMethodKind = Field(description="Registration method (REG-1).")
    phone: str = Field(
        max_length=PHONE, description="Secure phone (REG-3).", examples=["+8618112341234"]
    )
    phone_code: str = Field(max_length=CODE, description="Code sent to the phone (register).")
    language: str = Field(default="zh-CN", max_length=LANGUAGE, description="zh-CN or en.")
    email: str | None = Field(
        default=None, max_length=EMAIL, description="Email registration: the email."
    )
    password: str | None = Field(
        default=None, max_length=PASSWORD, description="Email registration: the password."
    )
    email_code: str | None = Field(
        default=None, max_length=CODE, description="Code sent to the email."
    )
    assertion: str | None = Field(
        default=None, max_length=ASSERTION, description="Third-party: the signed assertion."
    )


class ChannelIn(BaseModel):
    channel: Channel = Field(description="sms (secure phone) or email (secure email).")


class CodeIn(BaseModel):
    purpose: Literal[
        "register",
        "bind_email",
        "change_secure_phone",
        "change_secure_email",
        "contact_email",
        "message_phone",
    ]
    channel: Channel
    destination: str = Field(
        max_length=EMAIL, description="Mobile phone (any format; stored E.164) or email."
    )
    language: str = Field(default="zh-CN", max_length=LANGUAGE, description="zh-CN or en.")
    captcha_ticket: str | None = Field(
        default=None, max_length=TICKET, description="CODE-2: a solved captcha (required)."
    )


class LoginIn(BaseModel):
    method: Literal["password", "wechat", "qq", "wecom", "official_account"]
    email: str | None = Field(default=None, max_length=EMAIL)
    password: str | None = Field(default=None, max_length=PASSWORD)
    captcha_ticket: str | None = Field(
        default=None, max_length=TICKET, description="LOGIN-1: after 3 wrong a day."
    )
    assertion: str | None = Field(default=None, max_length=ASSERTION)
    account_id: str | None = Field(
        default=None,
        pattern=ACCOUNT_ID_PATTERN,
        max_length=18,
        description="Which account, when several.",
        examples=["100000000001"],
    )
    device_id: str | None = Field(
        default=None, max_length=DEVICE, description="The client's device id."
    )


class RefreshIn(BaseModel):
    refresh_token: str = Field(
        max_length=128, description="The refresh token of the last login or refresh (single use)."
    )


class BindIn(BaseModel):
    kind: LoginMethodKind
    verification: ProofIn
    assertion: str | None = Field(default=None, max_length=ASSERTION)
    email: str | None = Field(default=None, max_length=EMAIL)
    password: str | None = Field(default=None, max_length=PASSWORD)
    email_code: str | None = Field(default=None, max_length=CODE)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=PASSWORD)
    new_password: str = Field(max_length=PASSWORD)


class ResetRequestIn(BaseModel):
    email: str = Field(max_length=EMAIL)
    channel: Channel = Channel.SMS


class ResetConfirmIn(BaseModel):
    email: str = Field(max_length=EMAIL)
    channel: Channel = Channel.SMS
    code: str = Field(max_length=CODE)
    new_password: str = Field(max_length=PASSWORD)


class SecurePhoneIn(BaseModel):
    verification: ProofIn
    new_phone: str = Field(max_length=PHONE)
    new_phone_code: str = Field(max_length=CODE)


class SecureEmailIn(BaseModel):
    verification: ProofIn
    new_email: str = Field(max_length=EMAIL)
    new_email_code: str = Field(max_length=CODE)


class ProfileIn(BaseModel):
    nickname: str | None = Field(default=None, max_length=NAME)
    language: str | None = Field(default=None, max_length=LANGUAGE)
    contact_email: str | None = Field(default=None, max_length=EMAIL)
    contact_email_code: str | None = Field(
        default=None,
        max_length=CODE,
        description="Code sent to the new contact email (purpose contact_email).",
    )
    message_phone: str | None = Field(default=None, max_length=PHONE)
    message_phone_code: str | None = Field(
        default=None,
        max_length=CODE,
        description="Code sent to the new message phone (purpose message_phone).",
    )


class ProjectIn(BaseModel):
    name: str = Field(max_length=NAME, examples=["web-shop"])
    description: str = Field(default="", max_length=DESCRIPTION)


def project_view(row: Any) -> dict[str, Any]:
    return {
        "project_id": str(row.project_id),
        "name": row.name,
        "description": row.description,
        "enabled": row.enabled,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def account_id_of(who: Caller) -> int:
    return int(who.account_id)


# --- codes -------------------------------------------------------------------------------


@router.post("/codes", status_code=202, tags=["codes"])
async def request_code(
    body: CodeIn, request: Request, ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Send a one-time code to a new destination (CODE-1..3), after a captcha and within the
    client, number-prefix and global budgets. Codes for an account's own secure channels come
    from /v1/me/verification-codes and /v1/password-resets."""
    return await code_cases.request_code(
        ctx,
        code_cases.CodeRequest(
            purpose=CodePurpose(body.purpose),
            channel=body.channel,
            destination=body.destination,
            captcha=body.captcha_ticket,
            client_ip=client_ip(request),
            language=body.language,
        ),
    )


@router.post("/me/verification-codes", status_code=202, tags=["codes"])
async def request_verification_code(
    body: ChannelIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """PROT-2: a verify_identity code to the account's secure phone or secure email."""
    async with ctx.runtime.engine.connect() as conn:
        account = await repo.get_account(conn, account_id_of(who))
    return await send_code(
        ctx,
        CodePurpose.VERIFY_IDENTITY,
        body.channel,
        secure_destination(account, body.channel),
        language=account.language,
        account_id=who.account_id,
    )


# --- accounts and sessions ---------------------------------------------------------------


@router.post("/accounts", status_code=201, tags=["accounts"])
async def register_account(
    body: RegisterIn, ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Register (REG-1..6): email + password + email code, or a provider assertion; always a
    secure phone proven by its code."""
    done = await register(ctx, Registration(**body.model_dump()))
    return {
        "account_id": done.account_id,
        "status": "active",
        "method": done.method.value,
        "login": done.login,
        "registered_at": done.registered_at,
    }


@router.post("/sessions", status_code=201, tags=["sessions"])
async def log_in(
    body: LoginIn, request: Request, ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Password login (LOGIN-1..4) or a provider assertion; a phone is never an identifier."""
    client = login_cases.Client(device_id=body.device_id, ip=client_ip(request))
    if body.method == "password":
        done = await login_cases.password_login(
            ctx,
            body.email or "",
            body.password or "",
            captcha=body.captcha_ticket,
            client=client,
        )
    else:
        if not body.assertion:
            raise AppError(
                "`assertion` is required for this method.", details={"field": "assertion"}
            )
        done = await login_cases.third_party_login(
            ctx,
            LoginMethodKind(body.method),
            body.assertion,
            account_id=int(body.account_id) if body.account_id else None,
            client=client,
        )
    return {
        "account_id": done.account_id,
        "access_token": done.access_token,
        "token_type": "Bearer",
        "expires_in_s": done.expires_in_s,
        "refresh_token": done.refresh_token,
        "session_ends_at": done.session_ends_at,
    }


@router.post("/sessions/refresh", tags=["sessions"])
async def refresh(body: RefreshIn, ctx: IdentityContext = Depends(context)) -> dict[str, Any]:
    """A fresh access token and the next refresh token; each refresh token works once, and
    presenting a used one ends the session (REFRESH_TOKEN_REUSED)."""
    done = await session_cases.refresh_session(ctx, body.refresh_token)
    return {
        "account_id": done.caller.account_id,
        "access_token": done.access_token,
        "token_type": "Bearer",
        "expires_in_s": ctx.sessions.access_ttl_s,
        "refresh_token": done.refresh_token,
        "session_ends_at": done.ends_at,
    }


@router.delete("/sessions/current", status_code=204, tags=["sessions"])
async def log_out(who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)) -> None:
    await ctx.sessions.close(who)


@router.delete("/sessions/others", tags=["sessions"])
async def end_other_sessions(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, int]:
    """End every other session of the account (a lost phone, a shared computer)."""
    return {"ended": await session_cases.end_other_sessions(ctx, who)}


# --- the account's own pages -------------------------------------------------------------


@router.get("/me", tags=["me"])
async def me(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """The account, personal data masked."""
    async with ctx.runtime.engine.connect() as conn:
        account = await repo.get_account(conn, account_id_of(who))
        methods = await repo.methods_of(conn, account_id_of(who))
    return {
        "account_id": str(account.account_id),
        "status": account.status,
        "frozen_reasons": list(account.frozen_reasons),
        "nickname": account.nickname,
        "registered_at": account.registered_at,
        "secure_phone": mask_phone(account.secure_phone) if account.secure_phone else None,
        "secure_email": mask_email(account.secure_email) if account.secure_email else None,
        "login_methods": [
            {"kind": m.kind, "display": m.display, "subtype": m.subtype, "bound_at": m.bound_at}
            for m in methods
        ],
    }


@router.get("/me/settings", tags=["me"])
async def my_settings(
    who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """The owner's own settings page: the one reply with personal data in clear (ACC-2)."""
    async with ctx.runtime.engine.connect() as conn:
        account = await repo.get_account(conn, account_id_of(who))
    return {
        "account_id": str(account.account_id),
        "nickname": account.nickname,
        "language": account.language,
        "secure_phone": account.secure_phone,
        "secure_email": account.secure_email,
        "message_phone": account.message_phone,
        "contact_email": account.contact_email,
        "real_name_status": account.real_name_status,
        "registered_at": account.registered_at,
        "last_login_at": account.last_login_at,
    }


@router.patch("/me/settings", tags=["me"])
async def update_settings(
    body: ProfileIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Nickname, language, contact email and message-receiving phone (ACC-2, SEC-4)."""
    await account_cases.update_profile(ctx, account_id_of(who), body.model_dump(exclude_unset=True))
    return await my_settings(who, ctx)


@router.get("/me/logins", tags=["me"])
async def my_logins(
    limit: int = 50, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """LOGIN-8: the account's login history, newest first."""
    async with ctx.runtime.engine.connect() as conn:
        rows = await repo.login_history(conn, account_id_of(who), min(max(limit, 1), 200))
    return {
        "logins": [
            {
                "at": r.at,
                "method": r.method,
                "device_id": r.device_id,
                "ip": r.ip,
                "result": r.result,
                "reason": r.reason,
            }
            for r in rows
        ]
    }


@router.post("/me/login-methods", status_code=201, tags=["login methods"])
async def bind_method(
    body: BindIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    """Bind a login method after identity verification (LM-1..LM-8)."""
    display = await method_cases.bind(
        ctx,
        account_id_of(who),
        method_cases.Bind(
            kind=body.kind,
            proof=body.verification.proof(),
            assertion=body.assertion,
            email=body.email,
            password=body.password,
            email_code=body.email_code,
        ),
    )
    return {"kind": body.kind.value, "display": display}


@router.post("/me/login-methods/{kind}/unbind", status_code=204, tags=["login methods"])
async def unbind_method(
    kind: LoginMethodKind,
    body: ProofIn,
    who: Caller = Depends(caller),
    ctx: IdentityContext = Depends(context),
) -> None:
    """Unbind after identity verification; never the only method (LM-4)."""
    await method_cases.unbind(ctx, account_id_of(who), kind, body.proof())


@router.put("/me/password", status_code=204, tags=["password"])
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    who: Caller = Depends(caller),
    ctx: IdentityContext = Depends(context),
) -> None:
    """PWD-2: effective at once; every other session of the account ends. A wrong current
    password counts like a wrong login password (LOGIN-2..4)."""
    await account_cases.change_password(
        ctx,
        account_id_of(who),
        body.current_password,
        body.new_password,
        keep_session=who.session_id,
        client=login_cases.Client(ip=client_ip(request)),
    )


@router.post("/password-resets", status_code=202, tags=["password"])
async def request_reset(
    body: ResetRequestIn, request: Request, ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """PWD-3: a code to the secure phone or email; the same answer whether the email exists."""
    await account_cases.request_password_reset(
        ctx, body.email, body.channel, client_ip=client_ip(request)
    )
    return {"status": "if the account exists, a code is on its way"}


@router.post("/password-resets/confirm", status_code=204, tags=["password"])
async def confirm_reset(body: ResetConfirmIn, ctx: IdentityContext = Depends(context)) -> None:
    await account_cases.reset_password(ctx, body.email, body.channel, body.code, body.new_password)


@router.put("/me/secure-phone", tags=["secure channels"])
async def change_secure_phone(
    body: SecurePhoneIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """SEC-2 (and SEC-1: at most 5 accounts per secure phone)."""
    masked = await account_cases.change_secure_phone(
        ctx, account_id_of(who), body.verification.proof(), body.new_phone, body.new_phone_code
    )
    return {"secure_phone": masked}


@router.put("/me/secure-email", tags=["secure channels"])
async def change_secure_email(
    body: SecureEmailIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """SEC-3: old and new secure email both proven."""
    masked = await account_cases.change_secure_email(
        ctx, account_id_of(who), body.verification.proof(), body.new_email, body.new_email_code
    )
    return {"secure_email": masked}


# --- operators ---------------------------------------------------------------------------


@router.post("/operator/accounts/{account_id}/unlock", tags=["operator"])
async def unlock_account(
    account_id: int = Path(ge=1, le=2**63 - 1),
    operator: Operator = Depends(require_operator),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """Lift the account's password lock and forget its failures (support, after checking who
    asks). Needs the operator credential; every call is audit-logged."""
    unlocked = await account_cases.unlock_password_login(ctx, account_id, operator.operator_id)
    return {"account_id": str(account_id), "unlocked": unlocked}


# --- projects ----------------------------------------------------------------------------


@router.post("/projects", status_code=201, tags=["projects"])
async def create_project(
    body: ProjectIn, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    row = await project_cases.create_project(ctx, account_id_of(who), body.name, body.description)
    return project_view(row)


@router.get("/projects", tags=["projects"])
async def list_projects(
    include_disabled: bool = False,
    who: Caller = Depends(caller),
    ctx: IdentityContext = Depends(context),
) -> dict[str, Any]:
    """PRJ-1: disabled projects are hidden unless asked for."""
    rows = await project_cases.projects_of(ctx, account_id_of(who), include_disabled)
    return {"projects": [project_view(r) for r in rows]}


@router.post("/projects/{project_id}/disable", tags=["projects"])
async def disable_project(
    project_id: uuid.UUID, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    return project_view(await project_cases.set_enabled(ctx, account_id_of(who), project_id, False))


@router.post("/projects/{project_id}/enable", tags=["projects"])
async def enable_project(
    project_id: uuid.UUID, who: Caller = Depends(caller), ctx: IdentityContext = Depends(context)
) -> dict[str, Any]:
    return project_view(await project_cases.set_enabled(ctx, account_id_of(who), project_id, True))


# --- dev mode: the fake providers ----------------------------------------------------------

dev_router = APIRouter(prefix="/v1/dev", tags=["dev"], responses=ERRORS)


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


@dev_router.post("/assertions", status_code=201)
async def mint_assertion(
    body: AssertionIn, ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """What WeChat/QQ/WeCom OAuth would hand the console, signed by the fake provider."""
    return {
        "assertion": ctx.fake_idp.mint(
            body.kind,
            unionid=body.unionid,
            openid=body.openid,
            app_id=body.app_id,
            subtype=body.subtype,
            permissions=body.permissions,
            revoked=body.revoked,
        )
    }


class CaptchaTicketIn(BaseModel):
    identifier: str = Field(
        max_length=EMAIL,
        description="Whom the captcha is solved for: the login email (the ticket is bound "
        "to it and passes once).",
        examples=["alice@example.com"],
    )


@dev_router.post("/captcha-tickets", status_code=201)
async def mint_captcha(
    body: CaptchaTicketIn, ctx: IdentityContext = Depends(context)
) -> dict[str, str]:
    """A solved captcha, as the captcha widget would hand the console."""
    return {"ticket": ctx.fake_captcha.mint(body.identifier)}


__all__ = ["dev_router", "router"]
