"""PROT-2's sms and email factors (LM-3, SEC-2, SEC-3): a fresh code sent to the account's
secure phone or secure email proves it is the owner."""

from __future__ import annotations

from typing import Any

from services.identity.domain.codes import CodePurpose
from services.identity.domain.errors import (
    CodeExpired,
    CodeInvalid,
    CodeTooManyTries,
    CodeTriesExhausted,
)
from services.identity.service_layer.codes import check_code, secure_destination
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.failure_budget import counted_guess
from shared.events import Channel, MfaCodeUse


class OneTimeCode:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    async def verify(
        self,
        ctx: IdentityContext,
        account: Any,
        code: str,
        *,
        purpose: CodePurpose,
        during: MfaCodeUse = MfaCodeUse.OPERATION,
    ) -> None:
        destination = secure_destination(account, self.channel)

        async def compare() -> None:
            await check_code(ctx, purpose, destination, code)

        await counted_guess(
            ctx,
            account,
            compare,
            wrong=(CodeInvalid,),
            # An expired or exhausted code was never compared: no guess was made.
            not_compared=(CodeExpired, CodeTooManyTries, CodeTriesExhausted),
        )
