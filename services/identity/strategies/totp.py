"""PROT-2's totp factor (MFA-1, MFA-3): the code of the account's MFA device, used once."""

from __future__ import annotations

from typing import Any

from services.identity.domain.codes import CodePurpose
from services.identity.service_layer.context import IdentityContext
from services.identity.service_layer.totp import check_totp
from shared.events import MfaCodeUse


class Totp:
    async def verify(
        self,
        ctx: IdentityContext,
        account: Any,
        code: str,
        *,
        purpose: CodePurpose,
        during: MfaCodeUse = MfaCodeUse.OPERATION,
    ) -> None:
        await check_totp(ctx, int(account.account_id), code, during=during)
