"""Login-method rules (LM-1..LM-9). Pure: quotas, slots, what may be unbound."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from services.identity.domain.errors import AuthorizationRevoked, PermissionsIncomplete
from shared.errors import AppError, Conflict
from shared.events import LoginMethodKind

# LM-9: the permission an Official Account / Mini Program must grant us.
ACCOUNT_SERVICE_PERMISSION = "account_service"


class MethodAlreadyBound(Conflict):
    """LM-1: at most one method of each kind per account."""

    code = "LOGIN_METHOD_KIND_ALREADY_BOUND"


class OfficialAccountSlotTaken(Conflict):
    """LM-8: the slot holds an Official Account or a Mini Program; unbind it first."""

    code = "OFFICIAL_ACCOUNT_SLOT_TAKEN"


class QuotaExceeded(Conflict):
    """LM-2 / REG-4: the identifier is bound to as many accounts as it may be."""

    code = "LOGIN_METHOD_QUOTA_EXCEEDED"


class LastMethod(AppError):
    """LM-4: the only login method cannot be unbound."""

    code = "LAST_LOGIN_METHOD"


class MethodNotBound(AppError):
    status_code = 404
    code = "LOGIN_METHOD_NOT_BOUND"


@dataclass(frozen=True)
class Identity:
    """Who a login method identifies: kind + the identifier that is stable for a person.

    For WeChat the UnionID (LM-7); for an Official Account / Mini Program its app id, with the
    subtype telling which of the two it is (LM-8)."""

    kind: LoginMethodKind
    identifier: str
    subtype: str | None = None


def quota(kind: LoginMethodKind, wechat_accounts_per_person: int) -> int:
    """LM-2: WeChat binds up to N accounts (50); QQ, email, Official Account, WeCom one."""
    return wechat_accounts_per_person if kind is LoginMethodKind.WECHAT else 1


def usable_official_account(authorization_revoked: bool, permissions: Collection[str]) -> None:
    """LM-9: a revoked or incomplete authorization cannot register, bind or log in."""
    if authorization_revoked:
        raise AuthorizationRevoked(
            "Authorization revoked on the WeChat side: authorize again, or unbind and bind "
            "again with all permissions."
        )
    if ACCOUNT_SERVICE_PERMISSION not in permissions:
        raise PermissionsIncomplete(
            "Permissions incomplete: the account-service permission is required. Authorize "
            "again granting every permission."
        )


def check_can_bind(
    identity: Identity,
    bound_kinds: dict[LoginMethodKind, str | None],
    bound_elsewhere: int,
    limit: int,
) -> None:
    """LM-1, LM-8 and LM-2 for binding identity to an account."""
    if identity.kind in bound_kinds:
        if identity.kind is LoginMethodKind.OFFICIAL_ACCOUNT:
            raise OfficialAccountSlotTaken(
                f"The Official Account slot holds a {bound_kinds[identity.kind]}: unbind it before "
                f"binding a {identity.subtype}.",
                details={"bound": bound_kinds[identity.kind]},
            )
        raise MethodAlreadyBound(
            f"A {identity.kind.value} login method is already bound; unbind it first.",
            details={"kind": identity.kind.value},
        )
    if bound_elsewhere >= limit:
        raise QuotaExceeded(
            f"This {identity.kind.value} identity is already bound to {bound_elsewhere} "
            f"account(s), the most it may be.",
            details={"kind": identity.kind.value, "limit": limit},
        )


def check_can_unbind(kind: LoginMethodKind, bound: Collection[LoginMethodKind]) -> None:
    """LM-4: bind another method before unbinding the only one."""
    if kind not in bound:
        raise MethodNotBound(
            f"No {kind.value} login method is bound.", details={"kind": kind.value}
        )
    if len(bound) == 1:
        raise LastMethod(
            "This is the account's only login method: bind another one first.",
            details={"kind": kind.value},
        )
