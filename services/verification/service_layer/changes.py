"""RN-9, RN-10: the gate every new verification of an account passes, inside the
transaction that reserves its quota place.

An unverified account starts (RN-1); a verified one is changing its real name, which the
domain's `ensure_may_change` allows or refuses from the current real name, the person's
region and billing's standing (the projection of billing.events)."""

from __future__ import annotations

from datetime import timedelta

from services.verification.adapters.repository import RealNames
from services.verification.adapters.standings import BillingStandings
from services.verification.domain import changes, status
from services.verification.domain.changes import Target
from services.verification.domain.personal import Region
from services.verification.domain.status import RealName
from services.verification.service_layer.context import VerificationContext
from shared.unit_of_work import UnitOfWork


async def ensure_may_verify(
    ctx: VerificationContext, uow: UnitOfWork, current: RealName, target: Target
) -> bool:
    """Refuses what RN-1, RN-9 and RN-10 refuse; True when the verification is a change."""
    if not changes.is_change(current):
        status.ensure_may_start(current)
        return False
    person = await RealNames(uow.conn).person(current.account_id)
    region = Region(person.region) if person is not None else None
    billing = await BillingStandings(uow.conn).get(current.account_id)
    changes.ensure_may_change(
        current,
        region,
        target,
        billing,
        now=ctx.now(),
        min_interval=timedelta(seconds=ctx.settings.change_min_interval_s),
    )
    return True
