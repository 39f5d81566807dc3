"""FastAPI dependencies of verification's routes: the context, the caller, the step-up."""

from __future__ import annotations

from fastapi import Depends

from services.verification.service_layer.context import VerificationContext, verification_context
from shared.auth import Caller, require_caller, require_step_up
from shared.runtime import Runtime, get_runtime


async def context(runtime: Runtime = Depends(get_runtime)) -> VerificationContext:
    return verification_context(runtime)


async def stepped_up_caller(
    who: Caller = Depends(require_caller), ctx: VerificationContext = Depends(context)
) -> Caller:
    """PROT-1: submitting or changing real-name data needs a second factor proven to
    identity within STEP_UP_MAX_AGE_S (the token's step_up_at), else 403 STEP_UP_REQUIRED."""
    require_step_up(who, ctx.settings.step_up_max_age_s, now=ctx.now().timestamp())
    return who
