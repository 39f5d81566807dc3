"""RN-7: an operator raises (or lowers, or resets) one enterprise's account limit, audited."""

from __future__ import annotations

from dataclasses import dataclass

from services.verification.adapters.quota import QuotaClaims, QuotaKind
from services.verification.adapters.sensitive import Purpose
from services.verification.adapters.tables import operator_actions
from services.verification.domain.enterprise import check_uscc
from services.verification.service_layer.context import VerificationContext
from shared.logging import get_logger
from shared.operator_audit import record_operator_action

log = get_logger(__name__)
ACTION = "enterprise_limit_set"


@dataclass(frozen=True)
class EnterpriseLimit:
    uscc: str
    limit: int  # in force now
    default: int
    overridden: bool
    previous: int | None  # the override before this change, None: the default
    counted: int  # accounts the enterprise verifies (or is verifying) now


async def set_enterprise_limit(
    ctx: VerificationContext, uscc: str, limit: int | None, *, operator_id: str, reason: str
) -> EnterpriseLimit:
    """The enterprise's own limit (None: back to ENTERPRISE_MAX_ACCOUNTS). Lowering it below
    the accounts already verified takes none of them away; new ones wait for room."""
    code = check_uscc(uscc)
    key = ctx.sensitive.fingerprint(Purpose.ENTERPRISE, f"uscc:{code}")
    now = ctx.now()
    default = ctx.settings.enterprise_max_accounts
    async with ctx.runtime.uow() as uow:
        quota = QuotaClaims(uow.conn)
        previous = await quota.set_limit(QuotaKind.ENTERPRISE, key, limit)
        counted = await quota.counted(QuotaKind.ENTERPRISE, key, now=now)
        await record_operator_action(
            uow.conn,
            operator_actions,
            at=now,
            operator_id=operator_id,
            action=ACTION,
            subject=f"uscc:{code}",
            reason=reason,
            details={"limit": limit, "previous": previous},  # None: the default
        )
    log.info(
        "enterprise_limit_set", operator=operator_id, uscc=code, limit=limit, previous=previous
    )
    return EnterpriseLimit(
        code, limit if limit is not None else default, default, limit is not None, previous, counted
    )
