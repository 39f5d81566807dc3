"""Email over real SMTP (aiosmtplib), on pooled connections. Failures are sorted into
transient and permanent.

One message is one SMTP transaction on a connection kept open for the next one:
`MAIL FROM`, `RCPT TO`, then `DATA`. Everything that can fail before the end of `DATA` leaves
nothing at the server, so a stale pooled connection found dead there is replaced and the
transaction redone at once. Only a failure while the server holds the final "." (no reply,
a dropped connection, a timeout) leaves the outcome unknown: it is reported as transient and
the courier resends with the same Message-ID; the README's "crash windows" says what that
means for duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib
from aiosmtplib.email import flatten_message

from services.notifier.adapters.ports import DeliveryError, Email
from services.notifier.settings import NotifierSettings

# Errors that mean the connection is gone, not that the server refused anything.
_CONNECTION_LOST = (aiosmtplib.SMTPServerDisconnected, ConnectionError)


def message_id(idempotency_key: str, mail_from: str) -> str:
    """A stable Message-ID per delivery: a resend after a crash carries the same one."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "account-center"
    return f"<{idempotency_key}@{domain}>"


class _Connection:
    def __init__(self, smtp: aiosmtplib.SMTP) -> None:
        self.smtp = smtp
        self.idle_since = time.monotonic()


class SmtpMailer:
    """Sends each message as one transaction on a pooled connection (at most
    SMTP_POOL_SIZE open); a connection idle longer than SMTP_POOL_IDLE_S is closed."""

    def __init__(self, settings: NotifierSettings) -> None:
        self._s = settings
        self._sender = parseaddr(settings.mail_from)[1]
        self._idle: list[_Connection] = []  # most recently used last
        self._slots = asyncio.Semaphore(settings.smtp_pool_size)

    def build(self, email: Email) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self._s.mail_from
        msg["To"] = Address(addr_spec=email.to)
        msg["Subject"] = email.subject
        msg["Date"] = formatdate(email.date.timestamp(), usegmt=True)
        msg["Message-ID"] = message_id(email.idempotency_key, self._s.mail_from)
        msg.set_content(email.text)
        msg.add_alternative(email.html, subtype="html")
        return msg

    async def send(self, email: Email) -> None:
        try:
            message = self.build(email)
        except (ValueError, HeaderParseError) as exc:
            raise DeliveryError(f"invalid address: {exc}", permanent=True) from None
        async with self._slots:
            conn = self._take_idle()
            try:
                if conn is not None:
                    try:
                        await self._envelope(conn.smtp, email.to)
                    except _CONNECTION_LOST:
                        # The server closed the idle connection: nothing was accepted.
                        conn.smtp.close()
                        conn = None
                if conn is None:
                    conn = _Connection(await self._connect())
                    await self._envelope(conn.smtp, email.to)
                await self._data(conn.smtp, message)
            except DeliveryError:
                if conn is not None and conn.smtp.is_connected:
                    self._put_idle(conn)
                raise
            except aiosmtplib.SMTPException as exc:
                _close(conn)
                raise DeliveryError(f"SMTP unavailable: {exc}", permanent=False) from None
            except (OSError, TimeoutError) as exc:
                _close(conn)
                raise DeliveryError(
                    f"SMTP unavailable: {type(exc).__name__} {exc}", permanent=False
                ) from None
            except BaseException:
                _close(conn)  # cancelled mid-transaction: the connection's state is unknown
                raise
            self._put_idle(conn)

    async def _connect(self) -> aiosmtplib.SMTP:
        smtp = aiosmtplib.SMTP(
            hostname=self._s.smtp_host,
            port=self._s.smtp_port,
            username=self._s.smtp_username,
            password=self._s.smtp_password,
            use_tls=self._s.smtp_tls == "tls",
            start_tls=self._s.smtp_tls == "starttls",
            timeout=self._s.smtp_timeout_s,
        )
        await smtp.connect()
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        return smtp

    async def _envelope(self, smtp: aiosmtplib.SMTP, to: str) -> None:
        """MAIL FROM and RCPT TO: a refusal here leaves nothing at the server."""
        options = ["BODY=8BITMIME"] if smtp.supports_extension("8BITMIME") else []
        encoding = "ascii"
        if not (self._sender + to).isascii():
            if not smtp.supports_extension("SMTPUTF8"):
                raise DeliveryError("SMTPUTF8 not supported for this address", permanent=True)
            options.append("SMTPUTF8")
            encoding = "utf-8"
        try:
            await smtp.mail(self._sender, options=options, encoding=encoding)
            await smtp.rcpt(to, encoding=encoding)
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(smtp)
            raise DeliveryError(
                f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500
            ) from None

    async def _data(self, smtp: aiosmtplib.SMTP, message: EmailMessage) -> None:
        """DATA: from the final "." until the server's reply, the outcome is unknown."""
        cte = "8bit" if smtp.supports_extension("8BITMIME") else "7bit"
        utf8 = not str(message["To"]).isascii()
        try:
            await smtp.data(flatten_message(message, utf8=utf8, cte_type=cte))
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(smtp)
            raise DeliveryError(
                f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500
            ) from None

    def _take_idle(self) -> _Connection | None:
        oldest_kept = time.monotonic() - self._s.smtp_pool_idle_s
        while self._idle:
            conn = self._idle.pop()
            if conn.idle_since >= oldest_kept and conn.smtp.is_connected:
                return conn
            _close(conn)
        return None

    def _put_idle(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    async def aclose(self) -> None:
        """QUIT the pooled connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await conn.smtp.quit(timeout=2)
            _close(conn)


async def _reset(smtp: aiosmtplib.SMTP) -> None:
    """RSET after a refusal, so the connection can carry the next message."""
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        await smtp.rset()


def _close(conn: _Connection | None) -> None:
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.smtp.close()
