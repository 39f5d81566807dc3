"""The notices of issue 9's identity events (MFA, protection, trusted devices, recovery
appeals, login anomalies): which events tell the owner, with what. Pure: `notices()` and the
templates, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain.catalogue import Notify, kind_of
from services.notifier.domain.delivery import Send, Skip, decide
from services.notifier.domain.routing import Category, Contacts
from services.notifier.domain.templates import LANGUAGES, Rendered, render
from services.notifier.entrypoints.subscribers import notices
from shared.events import (
    AppealDecided,
    AppealReceived,
    Channel,
    EventPayload,
    LoginSucceeded,
    MfaBound,
    MfaCodeReplayed,
    MfaCodeUse,
    MfaUnbound,
    MfaUnboundBy,
    NotificationRequested,
    ProtectionChanged,
    TrustedDeviceAdded,
    new_envelope,
)

pytestmark = pytest.mark.unit

ACCOUNT = "100000000042"
NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
AT = "2026-11-22 08:30 UTC"  # NOW as messages show it


def _one(payload: EventPayload, producer: str = "identity") -> Notify:
    (command,) = notices(new_envelope(payload, producer=producer, account_id=ACCOUNT))
    return command


def _en(command: Notify) -> Rendered:
    return render(command.message_type, "en", command.params)


def _security_on_both_channels(command: Notify) -> None:
    kind = kind_of(command.message_type)
    assert kind.category is Category.SECURITY
    assert set(kind.channels) == {Channel.SMS, Channel.EMAIL}
    # Routed by SEC-4, not to a destination the event names.
    assert command.channel is None and command.destination is None


def _protection(*, login: tuple[bool, bool], operation: tuple[bool, bool]) -> ProtectionChanged:
    """A change from (was) to (now) of each protection."""
    return ProtectionChanged(
        login_protection_was=login[0],
        login_protection=login[1],
        operation_protection_was=operation[0],
        operation_protection=operation[1],
        changed_at=NOW,
    )


# --- LOGIN-6: login anomalies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("new_device", "dormant", "trigger", "said"),
    [
        (True, False, "new_device", "from a new device"),
        (False, True, "dormant", "after more than 30 days without a sign-in"),
        (True, True, "new_device_dormant", "from a new device, after more than 30 days"),
    ],
)
def test_login_6_a_login_from_a_new_device_or_after_30_days_notifies_the_secure_channels(
    new_device: bool, dormant: bool, trigger: str, said: str
) -> None:
    """LOGIN-6: a new device or more than 30 days without a login (identity flags both)."""
    command = _one(
        LoginSucceeded(
            method="password", ip="203.0.113.7", new_device=new_device, dormant=dormant, at=NOW
        )
    )
    assert command.message_type == "login_anomaly"
    assert command.params["trigger"] == trigger
    _security_on_both_channels(command)
    rendered = _en(command)
    assert said in rendered.text and said in rendered.sms
    assert "203.0.113.*" in rendered.text and "203.0.113.7" not in rendered.text
    zh = render("login_anomaly", "zh-CN", command.params)
    assert ("超过 30 天未登录" in zh.sms) is dormant and ("新设备" in zh.sms) is new_device


def test_login_6_an_ordinary_login_and_an_older_producer_send_nothing() -> None:
    """An event without `dormant` (an identity release before it) is an ordinary login."""
    old = LoginSucceeded.model_validate({"method": "password", "at": NOW.isoformat()})
    assert old.dormant is False
    assert notices(new_envelope(old, producer="identity", account_id=ACCOUNT)) == []


# --- MFA ---------------------------------------------------------------------------------------


def test_mfa_2_binding_an_mfa_device_notifies_the_owner() -> None:
    command = _one(MfaBound(bound_at=NOW))
    assert command.message_type == "mfa_bound"
    assert command.params == {"account_id": ACCOUNT, "at": AT}
    _security_on_both_channels(command)
    assert "MFA device was bound" in _en(command).text


@pytest.mark.parametrize(
    ("by", "said"),
    [
        (MfaUnboundBy.OWNER, "by the account's owner"),
        (MfaUnboundBy.OPERATOR, "by support, after a manual review"),
    ],
)
def test_mfa_2_mfa_4_unbinding_notifies_the_owner_naming_who_did_it(
    by: MfaUnboundBy, said: str
) -> None:
    """MFA-2 (owner, after verification) and MFA-4 (an operator, after review)."""
    command = _one(MfaUnbound(by=by, unbound_at=NOW))
    assert command.message_type == "mfa_unbound"
    assert command.params["by"] == by.value
    _security_on_both_channels(command)
    rendered = _en(command)
    assert said in rendered.text and said in rendered.sms


@pytest.mark.parametrize("during", list(MfaCodeUse))
def test_mfa_3_a_replayed_totp_code_notifies_the_owner(during: MfaCodeUse) -> None:
    """MFA-3 (ASVS 2.8.5): a replay is refused and the owner told; no code travels."""
    command = _one(MfaCodeReplayed(at=NOW, during=during))
    assert command.message_type == "mfa_code_replayed"
    assert command.params == {"account_id": ACCOUNT, "during": during.value, "at": AT}
    _security_on_both_channels(command)
    for language in LANGUAGES:
        assert render(command.message_type, language, command.params).sms


# --- PROT-1: protection turned off ------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "operation", "protections", "said"),
    [
        ((True, False), (False, False), "login_protection", "login protection of"),
        ((True, True), (True, False), "operation_protection", "operation protection of"),
        (
            (True, False),
            (True, False),
            "login_protection,operation_protection",
            "login protection and operation protection of",
        ),
        # One on, one off: the one turned off is told.
        ((False, True), (True, False), "operation_protection", "operation protection of"),
    ],
)
def test_prot_1_turning_a_protection_off_notifies_naming_which(
    login: tuple[bool, bool], operation: tuple[bool, bool], protections: str, said: str
) -> None:
    command = _one(_protection(login=login, operation=operation))
    assert command.message_type == "protection_turned_off"
    assert command.params["protections"] == protections
    _security_on_both_channels(command)
    rendered = _en(command)
    assert said in rendered.text.lower() and said in rendered.sms.lower()
    assert rendered.text[0].isupper()
    zh = render(command.message_type, "zh-CN", command.params)
    assert "关闭" in zh.sms and ("登录保护" in zh.sms or "操作保护" in zh.sms)


@pytest.mark.parametrize(
    ("login", "operation"),
    [
        ((False, True), (False, False)),
        ((False, False), (False, True)),
        ((False, True), (False, True)),
        ((True, True), (True, True)),
        ((False, False), (False, False)),
    ],
)
def test_prot_1_turning_a_protection_on_sends_nothing(
    login: tuple[bool, bool], operation: tuple[bool, bool]
) -> None:
    """Turning protection on is what the owner asked for; only turning it off is told."""
    payload = _protection(login=login, operation=operation)
    assert payload.turned_off() == []
    assert notices(new_envelope(payload, producer="identity", account_id=ACCOUNT)) == []


# --- LOGIN-5: trusted devices --------------------------------------------------------------------


def test_login_5_trusting_a_device_notifies_the_owner_and_its_label_stays_out_of_the_sms() -> None:
    """The label is the client's free text: shown (escaped) in the email, never in an SMS."""
    label = "<b>Call 400-000-0000</b>"
    command = _one(
        TrustedDeviceAdded(device_label=label, trusted_until=NOW + timedelta(days=7), at=NOW)
    )
    assert command.message_type == "trusted_device_added"
    assert command.params["trusted_until"] == "2026-11-29 08:30 UTC"
    _security_on_both_channels(command)
    for language in LANGUAGES:
        rendered = render(command.message_type, language, command.params)
        assert label in rendered.text
        assert "&lt;b&gt;Call 400-000-0000&lt;/b&gt;" in rendered.html
        assert "400-000-0000" not in rendered.sms and "2026-11-29 08:30 UTC" in rendered.sms
    unnamed = _one(TrustedDeviceAdded(trusted_until=NOW, at=NOW))
    assert unnamed.params["device"] == "-"


def test_login_5_a_device_label_longer_than_the_contract_allows_is_refused() -> None:
    with pytest.raises(ValueError, match="device_label"):
        TrustedDeviceAdded(device_label="x" * 65, trusted_until=NOW, at=NOW)


# --- REC-2: recovery appeals ---------------------------------------------------------------------


def test_rec_2_an_appeal_filed_for_an_account_tells_its_owner_on_the_secure_channels() -> None:
    """Someone asks to take over the account's login: the owner hears at once and can object."""
    command = _one(
        AppealReceived(appeal_id="ap-1", email_masked="n***@example.com", reset_mfa=True, at=NOW)
    )
    assert command.message_type == "appeal_received"
    _security_on_both_channels(command)
    rendered = _en(command)
    assert "n***@example.com" in rendered.text and "unbind its MFA device" in rendered.text
    assert "ap-1" in rendered.text
    no_reset = _one(
        AppealReceived(appeal_id="ap-2", email_masked="n***@example.com", reset_mfa=False, at=NOW)
    )
    assert "MFA" not in _en(no_reset).text


@pytest.mark.parametrize(("approved", "decision"), [(True, "approved"), (False, "rejected")])
def test_rec_2_an_appeal_decision_goes_to_the_secure_channels(
    approved: bool, decision: str
) -> None:
    reason = None if approved else "The documents do not match."
    command = _one(
        AppealDecided(
            appeal_id="ap-1",
            approved=approved,
            reason=reason,
            email_masked="n***@example.com",
            decided_at=NOW,
        )
    )
    assert command.message_type == "appeal_decided"
    assert command.params["decision"] == decision
    _security_on_both_channels(command)
    rendered = _en(command)
    assert f"was {decision}" in rendered.subject
    assert ("login method" in rendered.text) is approved
    if reason:
        assert reason in rendered.text and reason not in rendered.sms


def test_rec_2_identity_can_request_the_appeal_decision_for_the_appeals_new_email() -> None:
    """The applicant cannot read the account's secure channels: identity requests the same
    message for the appeal's email. Its parameters are the message's declared ones; the
    account is the envelope's, whatever the request says."""
    assert kind_of("appeal_decided").requested
    request = NotificationRequested(
        message_type="appeal_decided",
        channel=Channel.EMAIL,
        destination="new.owner@example.com",
        language="en",
        params={
            "account_id": "999",
            "appeal_id": "ap-1",
            "decision": "approved",
            "reason": "-",
            "email": "n***@example.com",
            "at": AT,
        },
    )
    command = _one(request)
    assert (command.channel, command.destination) == (Channel.EMAIL, "new.owner@example.com")
    assert command.params["account_id"] == ACCOUNT
    assert set(command.params) == set(kind_of("appeal_decided").params)  # no stray "minutes"
    assert f"account {ACCOUNT}" in _en(command).text


def test_rec_2_a_routed_appeal_decision_skips_a_missing_secure_channel() -> None:
    """A type that may be requested is still routed like any security message: an account
    with a secure phone only gets the SMS, and the email channel is skipped, not failed."""
    phone_only = Contacts(secure_phone="+8618112341234")
    common = {
        "message_type": "appeal_decided",
        "category": Category.SECURITY,
        "destination": None,
        "contacts": phone_only,
        "created_at": NOW,
        "now": NOW,
        "contacts_grace": timedelta(seconds=60),
    }
    assert decide(channel=Channel.SMS, **common) == Send("+8618112341234")  # type: ignore[arg-type]
    assert decide(channel=Channel.EMAIL, **common) == Skip("no_email_destination")  # type: ignore[arg-type]
