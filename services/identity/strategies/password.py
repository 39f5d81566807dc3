"""The email + password login method: the email proven by a code (REG-2, LM-6), the password
checked by argon2 under the lockout (LOGIN-1..4)."""

from __future__ import annotations

from typing import Any

from services.identity.domain.channels import email_key, login_key, normalise_email
from services.identity.domain.codes import CodePurpose
from services.identity.domain.errors import require
from services.identity.domain.login_methods import Identity
from services.identity.domain.passwords import check_password
from services.identity.service_layer.captcha import pass_captcha
from services.identity.service_layer.codes import check_code
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.login import (
    Client,
    LoggedIn,
    SecondFactorRequired,
    checked_password,
    first_factor_done,
)
from services.identity.strategies.base import Claim, Presented
from shared.events import LoginMethodKind
from shared.masking import mask_email


class PasswordMethod:
    kind = LoginMethodKind.EMAIL
    login_name = "password"

    async def claim(self, ctx: IdentityContext, presented: Presented) -> Claim:
        """PWD-1 for the new password; the email normalised (SEC-5)."""
        email = normalise_email(require(presented.email, "email"))
        password = require(presented.password, "password")
        check_password(password, email=email)
        identity = Identity(LoginMethodKind.EMAIL, email_key(email))
        return Claim(identity, mask_email(email), email=email, password=password)

    async def prove(
        self, ctx: IdentityContext, claim: Claim, presented: Presented, purpose: CodePurpose
    ) -> None:
        """The code sent to the email (purpose register or bind_email)."""
        await check_code(ctx, purpose, claim.email, require(presented.email_code, "email_code"))

    async def log_in(
        self, ctx: IdentityContext, presented: Presented, client: Client
    ) -> LoggedIn | SecondFactorRequired:
        return await password_login(
            ctx,
            presented.email or "",
            presented.password or "",
            captcha=presented.captcha,
            client=client,
        )


async def account_by_email(ctx: IdentityContext, key: str) -> Any:
    async with ctx.runtime.reader.connect() as conn:
        return await ctx.repo.first_account_with(conn, LoginMethodKind.EMAIL, key)


async def password_login(
    ctx: IdentityContext, email: str, password: str, *, captcha: str | None, client: Client
) -> LoggedIn | SecondFactorRequired:
    """LOGIN-1..4 around one argon2 check; the answer never tells whether the email exists."""
    key = login_key(email)
    if captcha is not None:
        await pass_captcha(ctx, captcha, bound_to=key, key_of=login_key)

    async def find_account() -> Any:
        return await account_by_email(ctx, key)

    account = await checked_password(
        ctx,
        ctx.login_subject(key),
        find_account,
        password,
        method="password",
        client=client,
        captcha_passed=captcha is not None,
        log_in=True,
    )
    return await first_factor_done(ctx, account, "password", client)
