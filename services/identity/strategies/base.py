"""The two kinds of strategy (see __init__.py) and what they exchange."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from services.identity.domain.codes import CodePurpose
from services.identity.domain.login_methods import Identity
from services.identity.service_layer.context import IdentityContext
from shared.events import LoginMethodKind, MfaCodeUse

if TYPE_CHECKING:  # the login use case imports the strategies' registries in turn
    from services.identity.service_layer.login import Client, LoggedIn, SecondFactorRequired


@dataclass(frozen=True)
class Presented:
    """What a person presented for a login method; each strategy reads the fields it needs."""

    email: str | None = None
    password: str | None = None
    email_code: str | None = None
    assertion: str | None = None
    captcha: str | None = None  # login: LOGIN-1's solved captcha
    account_id: int | None = None  # login: which account, when the identity manages several


@dataclass(frozen=True)
class Claim:
    """A login method someone claims, its input checked: whom it identifies, its masked
    display, and what the account keeps of it once every proof holds."""

    identity: Identity
    display: str
    email: str | None = None  # a login email: proven by its code, the secure email if none
    password: str | None = None  # hashed and stored as the account's password


class LoginMethod(Protocol):
    """A kind of login method (a first factor): how registration and binding claim it and
    prove it, and how it logs in."""

    kind: LoginMethodKind
    login_name: str  # its name in POST /v1/sessions (`password` for email)

    async def claim(self, ctx: IdentityContext, presented: Presented) -> Claim:
        """The input checked and whom it identifies; nothing spent or counted yet."""
        ...

    async def prove(
        self, ctx: IdentityContext, claim: Claim, presented: Presented, purpose: CodePurpose
    ) -> None:
        """The method's own proof beyond the claim (the email's code, for `purpose`)."""
        ...

    async def log_in(
        self, ctx: IdentityContext, presented: Presented, client: Client
    ) -> LoggedIn | SecondFactorRequired:
        """LOGIN-*: a session, or the flow a second factor completes (LOGIN-5)."""
        ...


class FactorVerifier(Protocol):
    """A second factor (PROT-2): proves the person in front of us owns the account."""

    async def verify(
        self,
        ctx: IdentityContext,
        account: Any,
        code: str,
        *,
        purpose: CodePurpose,
        during: MfaCodeUse = MfaCodeUse.OPERATION,
    ) -> None:
        """Raise unless `code` proves the factor for the account; a wrong code counts in
        the account's failure budget (LOGIN-4). `purpose` names the one-time code's
        purpose, `during` what a replayed TOTP code was presented for (MfaCodeReplayed)."""
        ...
