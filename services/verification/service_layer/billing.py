"""RN-10 (EXT): billing's standings, as billing.events reports them; the newest `as_of` per
account is kept, a late one is ignored, and an account billing never reported is unknown."""

from __future__ import annotations

from collections.abc import Sequence

from services.verification.adapters.standings import BillingStandings, ReportedStanding
from shared.events import BillingStanding, Envelope
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def standing_reported(uow: UnitOfWork, events: Sequence[Envelope[BillingStanding]]) -> None:
    standings = BillingStandings(uow.conn)
    for event in events:
        p = event.payload
        kept = await standings.report(
            ReportedStanding(
                account_id=event.account_id,
                overdue_fen=p.overdue_fen,
                advance_payment_fen=p.advance_payment_fen,
                as_of=p.as_of,
                event_id=str(event.event_id),
            )
        )
        if not kept:
            log.info("billing_standing_stale", account_id=event.account_id)
