"""Email over real SMTP (aiosmtplib). Failures are sorted into transient and permanent."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from services.notifier.settings import NotifierSettings


class DeliveryError(Exception):
    """A provider refused or failed; `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmtpMailer:
    """Sends one message per call; a fresh connection each time keeps failures independent."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._s = settings

    async def send(self, *, to: str, subject: str, text: str, message_key: str) -> None:
        msg = EmailMessage()
        msg["From"] = self._s.mail_from
        msg["To"] = to
        msg["Subject"] = subject
        # A stable Message-ID per delivery lets receivers drop the rare resend after a crash.
        msg["Message-ID"] = make_msgid(idstring=message_key, domain="account-center")
        msg.set_content(text)
        try:
            await aiosmtplib.send(
                msg,
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
