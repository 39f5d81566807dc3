"""One-time codes (CODE-1..3): issued to a destination for a purpose, delivered by the notifier.

The code travels only inside NotificationRequested on notifier.requests; replies say where it
went (masked) and for how long it holds, never the code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from services.identity.domain.channels import email_key
from services.identity.domain.errors import CodeExpired, NoSuchChannel
from services.identity.service_layer.context import PRODUCER, IdentityContext
from shared.events import Channel, NotificationRequested, Topic, new_envelope
from shared.masking import mask_email, mask_phone


class CodePurpose(StrEnum):
    REGISTER = "register"
    BIND_EMAIL = "bind_email"
    VERIFY_IDENTITY = "verify_identity"
    RESET_PASSWORD = "reset_password"
    CHANGE_SECURE_PHONE = "change_secure_phone"
    CHANGE_SECURE_EMAIL = "change_secure_email"


def code_key(destination: str) -> str:
    """An email's codes are keyed like its login identifier (SEC-5: `email_key`)."""
    return email_key(destination) if "@" in destination else destination


def masked(channel: Channel, destination: str) -> str:
    return mask_phone(destination) if channel is Channel.SMS else mask_email(destination)


async def send_code(
    ctx: IdentityContext,
    purpose: CodePurpose,
    channel: Channel,
    destination: str,
    *,
    language: str = "zh-CN",
    account_id: str = "",
) -> dict[str, Any]:
    """Issue a code (rate-limited per destination) and queue its delivery."""
    code = await ctx.codes.issue(purpose.value, code_key(destination))
    minutes = max(1, ctx.settings.code_ttl_s // 60)
    request = NotificationRequested(
        message_type="verification_code",
        channel=channel,
        destination=destination,
        language=language,
        params={"code": code, "minutes": str(minutes), "purpose": purpose.value},
    )
    async with ctx.runtime.uow() as uow:
        await uow.emit(
            Topic.NOTIFIER_REQUESTS,
            new_envelope(request, producer=PRODUCER, account_id=account_id),
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


async def verify_identity(ctx: IdentityContext, account: Any, channel: Channel, code: str) -> None:
    """LM-3 / SEC-2 / SEC-3: a fresh code sent to a secure channel proves it is the owner."""
    await check_code(ctx, CodePurpose.VERIFY_IDENTITY, secure_destination(account, channel), code)
