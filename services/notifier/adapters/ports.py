"""The ports the courier sends through, and how a provider says a send failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class DeliveryError(Exception):
    """A provider refused or failed; `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    # The delivery id: the Message-ID is derived from it, so a resend is recognisable.
    idempotency_key: str
    # The Date: header (RFC 5322 requires one): when the message was handed to the server.
    date: datetime


@dataclass(frozen=True)
class Sms:
    to: str
    template_id: str
    template_params: tuple[str, ...]
    content: str
    # The delivery id, sent as the provider's client request id: a resend is dropped there.
    idempotency_key: str


class Mailer(Protocol):
    async def send(self, email: Email) -> None: ...

    async def aclose(self) -> None: ...


class SmsSender(Protocol):
    async def send(self, sms: Sms) -> str:
        """Send one SMS; returns the provider's serial number of the message."""
        ...

    async def aclose(self) -> None: ...
