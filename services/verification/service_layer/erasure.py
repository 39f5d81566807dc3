"""CAN-7: a completed cancellation erases the account's real-name data, in the inbox
transaction of CancellationCompleted, and releases its quota places (RN-3, RN-7);
VerificationDataErased confirms it through the outbox in the same transaction."""

from __future__ import annotations

import dataclasses

from services.verification.adapters.erasure import Erasure, Known
from services.verification.domain.erasure import KEPT, search_forms
from services.verification.service_layer import events
from services.verification.service_layer.context import VerificationContext
from shared.events import CancellationCompleted, Envelope, VerificationDataErased
from shared.logging import get_logger
from shared.secret_box import SecretUnreadable
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)


async def erase_account(
    ctx: VerificationContext, uow: UnitOfWork, event: Envelope[CancellationCompleted]
) -> None:
    """Idempotent: a second run finds nothing left, and only the first is confirmed. An
    account verification never heard of holds nothing here: confirmed at once."""
    account_id = event.account_id
    store = Erasure(uow.conn)
    known = await store.lock(account_id)
    first = known is not Known.ERASED
    values = await store.enterprise_names(account_id)
    for item in await store.sealed_values(account_id):
        try:
            opened = ctx.sensitive.open(item.purpose, item.sealed, account_id=account_id)
            values.update(opened.values())
        except SecretUnreadable:
            # The key left the ring: the ciphertext is erased all the same; only free text
            # that quoted it cannot be searched for it.
            log.warning("erasure_sealed_value_unreadable", account_id=account_id)
    now = ctx.now()
    erased = await store.erase(account_id, forms=search_forms(values), at=now)
    if first:
        await events.emit(
            uow,
            account_id,
            VerificationDataErased(
                service="verification",
                application_id=event.payload.application_id,
                erased_at=now,
                kept=KEPT,
            ),
        )
    log.info(
        "account_erased" if first else "account_erasure_repeated",
        account_id=account_id,
        known=known.value,
        **dataclasses.asdict(erased),
    )
