"""RN-5, RN-13, RN-16 with the notifier, over the real broker: an enterprise verified by
remittance tells its owner on the secure channels (SEC-4): pending, the remittance was sent
(the masked account and the deadline, never the amount), and verified (how); a re-check that
finds the enterprise deregistered tells the owner the day of the downgrade, then the
downgrade. Both services and the mail and SMS sinks run in one topic namespace."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest

from devkit.broker import free_port
from devkit.mailsink import MailSink
from devkit.smssink import SmsSink
from devkit.testing.enterprises import random_bank_account
from devkit.testing.infra import Infra
from devkit.testing.kafka import publish
from devkit.testing.services import running
from services.notifier.entrypoints.subscribers import when
from services.notifier.main import spec as notifier_spec
from services.notifier.settings import NotifierSettings
from shared.events import AccountContacts, new_envelope
from tests.integration.verification.conftest import VerificationApp, verification_app
from tests.integration.verification.test_enterprise import (
    enter,
    registered_enterprise,
    remittance,
    sent_amount,
    submit,
)
from tests.integration.verification.test_rechecks import FAST, notice, registry

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def sinks() -> Iterator[tuple[MailSink, SmsSink]]:
    mail = MailSink(free_port())
    mail.start()
    sms = SmsSink().start()
    try:
        yield mail, sms
    finally:
        sms.stop()
        mail.stop()


async def contacts_known(kafka: str, topic: str, account: str) -> str:
    """Identity's contacts of the account (English), published; returns the secure email."""
    secure_email = f"secure.{account}@example.com"
    contacts = AccountContacts(
        language="en",
        secure_phone="+8618100001234",
        secure_email=secure_email,
        message_phone="+8613900001234",
        contact_email=f"contact.{account}@example.com",
    )
    await publish(kafka, topic, new_envelope(contacts, producer="identity", account_id=account))
    return secure_email


async def test_rn_5_remittance_sent_and_verified_reach_the_secure_channels(infra: Infra) -> None:
    scope = infra.scope()
    with sinks() as (mail, sms):
        notifier = notifier_spec(
            scope.settings(NotifierSettings, smtp_port=mail.port, sms_api_url=sms.url)
        )
        async with running(notifier), verification_app(scope) as verification:
            account = await verification.register()
            secure_email = await contacts_known(
                scope.infra.kafka, scope.topic("identity.contacts"), account
            )
            uscc, name = await registered_enterprise(verification)
            number = random_bank_account()

            started = await remittance(verification, account, uscc, name, number)
            assert started.status_code == 201, started.text
            amount = await sent_amount(verification, account)
            sent_mail = await asyncio.to_thread(
                mail.wait_for,
                lambda m: secure_email in m.rcpt_to and "small amount" in m.subject,
                30.0,
            )
            done = await enter(verification, account, amount)
            assert done.json()["status"] == "verified"
            verified_mail = await asyncio.to_thread(
                mail.wait_for,
                lambda m: secure_email in m.rcpt_to and "verified" in m.subject,
                30.0,
            )
            texts = await asyncio.to_thread(
                sms.wait_for, lambda s: s.template_id.startswith("real_name_verified"), 30.0
            )

    assert "*" * 15 + number[-4:] in sent_mail.text
    assert number not in sent_mail.text + sent_mail.html
    assert "amount under 1 yuan" in sent_mail.text and amount not in sent_mail.text
    assert "a remittance to the corporate account" in verified_mail.text
    assert "enterprise" in verified_mail.text
    assert texts.phone_number == "+8618100001234"
    subjects = [m.subject for m in mail.snapshot() if secure_email in m.rcpt_to]
    # Pending (real_name_changed), sent, verified: the proof is one notice
    # (real_name_verified), not also a real_name_changed.
    assert sorted(subjects) == [
        "We sent a small amount to your corporate account",
        "Your account's real name is verified",
        "Your real-name status changed",
    ]


async def test_rn_13_a_recheck_notice_then_the_downgrade_reach_the_secure_channels(
    infra: Infra,
) -> None:
    """The notice names the reason and the end of the grace period (the day the account
    turns unverified); the downgrade is one message of its own, not also a status change."""
    scope = infra.scope()
    with sinks() as (mail, sms):
        notifier = notifier_spec(
            scope.settings(NotifierSettings, smtp_port=mail.port, sms_api_url=sms.url)
        )
        async with (
            running(notifier),
            verification_app(scope, recheck_grace_s=3.0, **FAST) as verification,
        ):
            app: VerificationApp = verification
            account = await app.register()
            secure_email = await contacts_known(
                scope.infra.kafka, scope.topic("identity.contacts"), account
            )
            name = "北京通知注销示例有限公司"
            uscc, _ = await registered_enterprise(app, name)
            verified = await submit(app, account, uscc, name, "wechat_official_platform")
            assert verified.status_code == 201, verified.text
            await asyncio.to_thread(
                mail.wait_for,
                lambda m: secure_email in m.rcpt_to and "verified" in m.subject,
                30.0,
            )

            await registry(app, uscc, name, deregistered=True)
            noticed = await notice(app, account)
            downgrade_at = when(noticed.payload.downgrade_at)
            notice_mail = await asyncio.to_thread(
                mail.wait_for,
                lambda m: secure_email in m.rcpt_to and "verification ends on" in m.subject,
                30.0,
            )
            notice_sms = await asyncio.to_thread(
                sms.wait_for,
                lambda s: s.template_id == "real_name_recheck_notice.en",
                30.0,
            )
            downgraded_mail = await asyncio.to_thread(
                mail.wait_for,
                lambda m: secure_email in m.rcpt_to and "no longer" in m.subject,
                30.0,
            )

    assert downgrade_at in notice_mail.subject and downgrade_at in notice_mail.text
    assert "the enterprise is deregistered" in notice_mail.text
    assert notice_sms.phone_number == "+8618100001234"
    assert "unverified since" in downgraded_mail.text
    subjects = [m.subject for m in mail.snapshot() if secure_email in m.rcpt_to]
    # Verified, the notice, the downgrade: no real_name_changed beside the downgrade's own.
    assert sorted(subjects) == sorted(
        [
            "Your account's real name is verified",
            f"Your enterprise verification ends on {downgrade_at}",
            "Your account is no longer real-name verified",
        ]
    )
