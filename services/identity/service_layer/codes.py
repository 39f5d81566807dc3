"""One-time codes (CODE-1..3): issued to a destination for a purpose, delivered by the notifier.

The code travels only inside NotificationRequested on notifier.requests; replies say where it
went (masked) and for how long it holds, never the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.identity.domain.accounts import check_language
from services.identity.domain.channels import email_key, normalise_email, normalise_mobile
from services.identity.domain.codes import FIXED_CHANNEL, Budget, CodePurpose, number_prefix
from services.identity.domain.errors import (
    CaptchaRequired,
    CodeChannelUnsupported,
    CodeExpired,
    CodeInvalid,
    CodeRateLimited,
    CodeTriesExhausted,
    NoSuchChannel,
)
from services.identity.service_layer.captcha import pass_captcha
from services.identity.service_layer.context import PRODUCER, IdentityContext
from services.identity.service_layer.decoys import (
    DECOY_DESTINATION,
    decoy_code_key,
    writes_kept_unless,
)
from shared.events import Channel, NotificationRequested, Topic, new_envelope
from shared.masking import mask_email, mask_phone


def code_key(destination: str) -> str:
    """An email's codes are keyed like its login identifier (SEC-5: `email_key`)."""
    return email_key(destination) if "@" in destination else destination


def masked(channel: Channel, destination: str) -> str:
    return mask_phone(destination) if channel is Channel.SMS else mask_email(destination)


# Purposes anyone may ask /v1/codes for: codes to a destination nobody has proven yet.
NEW_DESTINATION_PURPOSES = (
    CodePurpose.REGISTER,
    CodePurpose.BIND_EMAIL,
    CodePurpose.CHANGE_SECURE_PHONE,
    CodePurpose.CHANGE_SECURE_EMAIL,
    CodePurpose.CONTACT_EMAIL,
    CodePurpose.MESSAGE_PHONE,
    CodePurpose.FIND_ACCOUNTS,
    CodePurpose.APPEAL_EMAIL,
)


@dataclass(frozen=True)
class CodeRequest:
    """A code to a new destination, asked for anonymously (POST /v1/codes)."""

    purpose: CodePurpose
    channel: Channel
    destination: str
    captcha: str | None
    client_ip: str | None
    language: str = "zh-CN"


def normalise_destination(channel: Channel, raw: str, *, field: str = "destination") -> str:
    """SEC-5; SMS only to mobile numbers (CODE-2: no premium-rate or fixed-line numbers)."""
    if channel is Channel.SMS:
        return normalise_mobile(raw, field=field)
    return normalise_email(raw, field=field)


def new_destination_budgets(
    ctx: IdentityContext, channel: Channel, destination: str, client_ip: str | None
) -> list[Budget]:
    """CODE-2: per client IP; for SMS also per number prefix and for all numbers together."""
    settings = ctx.settings
    budgets = [Budget("client", client_ip or "unknown", settings.code_client_per_hour, 3600)]
    if channel is Channel.SMS:
        prefix = number_prefix(destination, settings.code_sms_prefix_digits)
        budgets.append(Budget("prefix", prefix, settings.code_sms_prefix_per_hour, 3600))
        budgets.append(Budget("global", "sms", settings.code_sms_global_per_hour, 3600))
    return budgets


async def pass_code_captcha(
    ctx: IdentityContext, ticket: str | None, channel: Channel, destination: str
) -> None:
    """CODE-2: an anonymous send needs a captcha solved for this destination, used once."""
    if not ticket:
        raise CaptchaRequired("Solve the captcha to have a code sent.")
    await pass_captcha(
        ctx,
        ticket,
        bound_to=code_key(destination),
        key_of=lambda raw: code_key(normalise_destination(channel, raw)),
    )


async def request_code(ctx: IdentityContext, request: CodeRequest) -> dict[str, Any]:
    """CODE-1..3 for a new destination: valid input, a captcha, then every send budget."""
    if request.purpose not in NEW_DESTINATION_PURPOSES:
        raise ValueError(f"{request.purpose} codes go to an account's own secure channel")
    language = check_language(request.language)  # the template's language, never free text
    fixed = FIXED_CHANNEL.get(request.purpose)
    if fixed is not None and request.channel is not fixed:
        raise CodeChannelUnsupported(
            f"`{request.purpose.value}` codes go by {fixed.value} only.",
            details={"channel": fixed.value},
        )
    destination = normalise_destination(request.channel, request.destination)
    await pass_code_captcha(ctx, request.captcha, request.channel, destination)
    return await send_code(
        ctx,
        request.purpose,
        request.channel,
        destination,
        language=language,
        budgets=new_destination_budgets(ctx, request.channel, destination, request.client_ip),
    )


async def send_code(
    ctx: IdentityContext,
    purpose: CodePurpose,
    channel: Channel,
    destination: str,
    *,
    language: str = "zh-CN",
    account_id: str = "",
    budgets: Sequence[Budget] = (),
    decoy_for: str | None = None,
) -> dict[str, Any]:
    """Spend the send budgets, issue a code (rate-limited per destination and purpose class)
    and queue its delivery; a refused code gives the budgets back.

    `decoy_for` (a login key): nobody is there to receive it, so do the same work and throw
    the delivery away; the code is kept under the decoy's own key, where a confirmation for
    the same login key finds it (and answers exactly as for a real code)."""
    await ctx.codes.spend(budgets)
    stored_as = code_key(destination) if decoy_for is None else decoy_code_key(channel, decoy_for)
    try:
        code = await ctx.codes.issue(purpose.value, stored_as)
    except (CodeRateLimited, CodeTriesExhausted):
        await ctx.codes.refund(budgets)
        raise
    minutes = max(1, ctx.settings.code_ttl_s // 60)
    request = NotificationRequested(
        message_type="verification_code",
        channel=channel,
        destination=destination if decoy_for is None else DECOY_DESTINATION[channel],
        language=language,
        params={"code": code, "minutes": str(minutes), "purpose": purpose.value},
    )
    async with ctx.runtime.uow() as uow, writes_kept_unless(uow, discard=decoy_for is not None):
        await uow.emit(
            Topic.NOTIFIER_REQUESTS,
            new_envelope(request, producer=PRODUCER, account_id=account_id, occurred_at=uow.now()),
        )
    return {
        "sent_to": masked(channel, destination),
        "channel": channel.value,
        "expires_in_s": ctx.settings.code_ttl_s,
    }


async def check_code(
    ctx: IdentityContext, purpose: CodePurpose, destination: str | None, code: str
) -> None:
    """Consume the code or raise; a missing destination behaves like an expired code."""
    if destination is None:
        raise CodeExpired("No valid code for this destination: request a new one.")
    await ctx.codes.verify(purpose.value, code_key(destination), code)


async def check_decoy_code(
    ctx: IdentityContext, purpose: CodePurpose, channel: Channel, login_key: str, code: str
) -> None:
    """The same tries and answers against a decoy code as against a real one; even the right
    decoy code (one chance in a million a try) proves nothing, so it is answered as wrong."""
    await ctx.codes.verify(purpose.value, decoy_code_key(channel, login_key), code)
    raise CodeInvalid("The code is not right.", details={"tries_left": 0})


def secure_destination(account: Any, channel: Channel) -> str:
    """PROT-2: the secure phone or secure email to verify the person by."""
    destination = account.secure_phone if channel is Channel.SMS else account.secure_email
    if destination is None:
        other = "email" if channel is Channel.SMS else "sms"
        raise NoSuchChannel(
            f"The account has no secure {'phone' if channel is Channel.SMS else 'email'}; "
            f"verify with `{other}` instead.",
            details={"channel": channel.value, "alternative": other},
        )
    return str(destination)


async def account_subject(ctx: IdentityContext, account_id: int) -> str:
    """The lockout subject of an account: its login email's, else one of its own."""
    async with ctx.runtime.engine.connect() as conn:
        email = await ctx.repo.login_email(conn, account_id)
    return ctx.login_subject(email if email is not None else f"account:{account_id}")
