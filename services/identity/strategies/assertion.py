"""Login methods of a provider (WeChat, QQ, WeCom, Official Account / Mini Program): its
signed assertion is the proof (REG-6), keyed as LM-7/LM-8 say, usable as LM-9 says."""

from __future__ import annotations

from services.identity.domain.accounts import may_log_in
from services.identity.domain.codes import CodePurpose
from services.identity.domain.errors import (
    AccountChoiceRequired,
    LoginRefused,
    NotRegistered,
    require,
)
from services.identity.domain.login_methods import Identity, usable_official_account
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.login import (
    Client,
    LoggedIn,
    SecondFactorRequired,
    first_factor_done,
    record_failure,
)
from services.identity.strategies.base import Claim, Presented
from shared.errors import AppError
from shared.events import AccountStatus, LoginMethodKind
from shared.masking import mask_identifier


class AssertionMethod:
    def __init__(self, kind: LoginMethodKind) -> None:
        self.kind = kind
        self.login_name = kind.value

    async def claim(self, ctx: IdentityContext, presented: Presented) -> Claim:
        identity, display = await third_party_identity(
            ctx, self.kind, require(presented.assertion, "assertion")
        )
        return Claim(identity, display)

    async def prove(
        self, ctx: IdentityContext, claim: Claim, presented: Presented, purpose: CodePurpose
    ) -> None:
        """Nothing more: the provider's signature, checked by `claim`, is the proof."""

    async def log_in(
        self, ctx: IdentityContext, presented: Presented, client: Client
    ) -> LoggedIn | SecondFactorRequired:
        if not presented.assertion:
            raise AppError(
                "`assertion` is required for this method.", details={"field": "assertion"}
            )
        return await third_party_login(
            ctx, self.kind, presented.assertion, account_id=presented.account_id, client=client
        )


async def third_party_identity(
    ctx: IdentityContext, kind: LoginMethodKind, assertion: str
) -> tuple[Identity, str]:
    """REG-6: verify the provider's assertion; returns the identity and its masked display."""
    verified = ctx.idp.verify(kind, assertion)
    if kind is LoginMethodKind.OFFICIAL_ACCOUNT:
        usable_official_account(verified.authorization_revoked, verified.permissions)
    return Identity(kind, verified.subject, verified.subtype), mask_identifier(verified.subject)


async def third_party_login(
    ctx: IdentityContext,
    kind: LoginMethodKind,
    assertion: str,
    *,
    account_id: int | None,
    client: Client,
) -> LoggedIn | SecondFactorRequired:
    """Log in with a provider's assertion (REG-6); LM-9 refusals say why and how to fix."""
    verified = ctx.idp.verify(kind, assertion)
    identity = Identity(kind, verified.subject, verified.subtype)
    async with ctx.runtime.engine.connect() as conn:
        ids = await ctx.repo.accounts_with(conn, identity.kind, identity.identifier)
    if not ids:
        raise NotRegistered(f"No account has this {kind.value} login method: register first.")
    if account_id is None and len(ids) > 1:
        raise AccountChoiceRequired(
            "This identity manages several accounts: send `account_id`.",
            details={"accounts": [str(i) for i in ids]},
        )
    chosen = account_id if account_id is not None else ids[0]
    if chosen not in ids:
        raise NotRegistered(f"Account {chosen} has no such {kind.value} login method.")
    async with ctx.runtime.engine.connect() as conn:
        account = await ctx.repo.get_account(conn, chosen)
    try:
        await third_party_identity(ctx, kind, assertion)
    except AppError as refusal:
        await record_failure(ctx, account, kind.value, client, refusal.code)
        raise
    if not may_log_in(AccountStatus(account.status)):
        raise LoginRefused("This account is cancelled.")
    return await first_factor_done(ctx, account, kind.value, client)
