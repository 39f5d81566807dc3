"""Email over real SMTP (aiosmtplib). Failures are sorted into transient and permanent."""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

import aiosmtplib

from services.notifier.adapters.ports import DeliveryError, Email
from services.notifier.settings import NotifierSettings


def message_id(idempotency_key: str, mail_from: str) -> str:
    """A stable Message-ID per delivery: a resend after a crash carries the same one."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "account-center"
    return f"<{idempotency_key}@{domain}>"


class SmtpMailer:
    """Sends one message per call; a fresh connection each time keeps failures independent."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._s = settings

    def build(self, email: Email) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._s.mail_from
        msg["To"] = Address(addr_spec=email.to)
        msg["Subject"] = email.subject
        msg["Message-ID"] = message_id(email.idempotency_key, self._s.mail_from)
        msg.set_content(email.text)
        msg.add_alternative(email.html, subtype="html")
        return msg

    async def send(self, email: Email) -> None:
        try:
            message = self.build(email)
        except (ValueError, HeaderParseError) as exc:
            raise DeliveryError(f"invalid address: {exc}", permanent=True) from None
        try:
            await aiosmtplib.send(
                message,
                hostname=self._s.smtp_host,
                port=self._s.smtp_port,
                username=self._s.smtp_username,
                password=self._s.smtp_password,
                use_tls=self._s.smtp_tls == "tls",
                start_tls=self._s.smtp_tls == "starttls",
                timeout=self._s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise DeliveryError(
                f"recipient refused: {codes}", permanent=all(c >= 500 for c in codes)
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"SMTP unavailable: {exc}", permanent=False) from None
