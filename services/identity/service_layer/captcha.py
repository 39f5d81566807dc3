"""LOGIN-1: a captcha ticket passes once, for the identifier it was solved for."""

from __future__ import annotations

import hmac
from collections.abc import Callable

import redis.exceptions

from services.identity.domain.errors import CaptchaInvalid, CaptchaUnavailable
from services.identity.service_layer.context import IdentityContext
from shared.errors import AppError

REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
SOLVE_AGAIN = "solve the captcha again."


async def pass_captcha(
    ctx: IdentityContext, ticket: str, *, bound_to: str, key_of: Callable[[str], str]
) -> None:
    """Refuse (CAPTCHA_INVALID) a ticket that is forged or expired, solved for an identifier
    other than `bound_to` (compared after `key_of`, the caller's normalisation), or used
    before; the first use consumes it. Redis down: 503, never a pass."""
    solved = ctx.captcha.verify(ticket)
    if solved is None:
        raise CaptchaInvalid(f"The captcha ticket is not valid: {SOLVE_AGAIN}")
    try:
        solved_for = key_of(solved.identifier)
    except AppError:
        solved_for = ""
    if not hmac.compare_digest(solved_for.encode(), bound_to.encode()):
        raise CaptchaInvalid(f"The captcha ticket was solved for someone else: {SOLVE_AGAIN}")
    try:
        first_use = await ctx.captcha_tickets.consume(solved.ticket_id, solved.expires_at)
    except REDIS_DOWN:
        raise CaptchaUnavailable(
            "Captchas cannot be checked right now; try again shortly."
        ) from None
    if not first_use:
        raise CaptchaInvalid(f"The captcha ticket has been used already: {SOLVE_AGAIN}")
