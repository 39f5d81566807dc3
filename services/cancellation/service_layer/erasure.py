"""CAN-7, ARCHITECTURE "Erasure": cancellation erases what it projected of a cancelled
account (in the completion transaction) and records every service's confirmation."""

from __future__ import annotations

from services.cancellation.adapters.erasures import Erasures
from services.cancellation.adapters.repository import Applications, Standings, SubAccounts
from services.cancellation.domain.applications import Application, State
from services.cancellation.domain.erasure import KEPT
from services.cancellation.service_layer.events import PRODUCER, emit
from shared.events import (
    AccountDataErased,
    CancellationDataErased,
    Envelope,
    IdentityDataErased,
    NotifierDataErased,
    VerificationDataErased,
)
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

# The other services' confirmations, each believed from its owner only (the producer name
# each service puts on its envelopes).
CONFIRMED_BY: dict[type[AccountDataErased], str] = {
    IdentityDataErased: "identity",
    VerificationDataErased: "verification",
    NotifierDataErased: "notifier",
}


async def erase_own_data(uow: UnitOfWork, application: Application) -> None:
    """Forget the account's standings and sub-account link (the account projection was
    reduced to id, status and dates by the caller); the application record stays as the
    audit record. Records cancellation's own confirmation and emits
    CancellationDataErased."""
    now = uow.now()
    account_id = application.account_id
    await Standings(uow.conn).erase(account_id)
    await SubAccounts(uow.conn).erase(account_id)
    await Erasures(uow.conn).record(
        application.application_id, PRODUCER, erased_at=now, kept=KEPT, now=now
    )
    await emit(
        uow,
        account_id,
        CancellationDataErased(
            service=PRODUCER,
            application_id=application.application_id,
            erased_at=now,
            kept=list(KEPT),
        ),
    )
    log.info("account_data_erased", account_id=account_id, service=PRODUCER)


async def erasure_confirmed(
    uow: UnitOfWork,
    event: Envelope[IdentityDataErased | VerificationDataErased | NotifierDataErased],
) -> None:
    """Another service confirmed its erasure (each believed only from its owner, see
    entrypoints/subscribers.py): recorded against the completed application; the first
    confirmation per service stands."""
    p = event.payload
    service = CONFIRMED_BY[type(p)]  # the producer the consumer trusted, not p.service
    application = await Applications(uow.conn).get(p.application_id)
    if application is None or application.state is not State.COMPLETED:
        log.warning(
            "erasure_confirmation_ignored",
            account_id=event.account_id,
            service=service,
            application_id=p.application_id,
        )
        return
    recorded = await Erasures(uow.conn).record(
        p.application_id, service, erased_at=p.erased_at, kept=p.kept, now=uow.now()
    )
    log.info(
        "erasure_confirmed",
        account_id=application.account_id,
        service=service,
        repeat=not recorded,
    )
