"""PROT-2: proving a second factor, by the strategy registered for it (strategies/factors.py):
the MFA device's code or a code sent to a secure channel."""

from __future__ import annotations

from typing import Any

from services.identity.domain.codes import CodePurpose
from services.identity.domain.errors import FactorUnavailable
from services.identity.domain.flows import Factor
from services.identity.service_layer.context import IdentityContext
from services.identity.strategies.factors import FACTORS
from shared.events import MfaCodeUse


async def verify_factor(
    ctx: IdentityContext,
    account: Any,
    factor: Factor,
    code: str,
    *,
    purpose: CodePurpose = CodePurpose.VERIFY_IDENTITY,
    during: MfaCodeUse = MfaCodeUse.OPERATION,
) -> None:
    """Raise unless `code` proves `factor` for the account; every wrong one is counted.
    `during`: what a replayed TOTP code was presented for (login, step_up, operation)."""
    verifier = FACTORS.get(factor)
    if verifier is None:
        raise FactorUnavailable(f"The `{factor.value}` factor cannot be used yet.")
    await verifier.verify(ctx, account, code, purpose=purpose, during=during)
