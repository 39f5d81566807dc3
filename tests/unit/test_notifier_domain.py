"""Routing, the message catalogue, templates and the retry policy of the notifier: pure rules."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
import jinja2.meta
import pytest

from services.notifier.domain import messages
from services.notifier.domain.catalogue import CATALOGUE, SECRET_MASK, kind_of, scrub
from services.notifier.domain.delivery import (
    Fail,
    GiveUp,
    Retry,
    Send,
    Skip,
    Wait,
    after_failure,
    decide,
    retry_delay,
)
from services.notifier.domain.routing import Category, Contacts, destination_for
from services.notifier.domain.templates import (
    BLOCKS,
    LABELS,
    LANGUAGES,
    TEMPLATE_DIR,
    TemplateError,
    UnknownTemplate,
    render,
    template_language,
    template_name,
)
from services.notifier.entrypoints.subscribers import mask_ip, notices
from shared.events import (
    AccountLocked,
    AccountRegistered,
    AccountStatus,
    AccountStatusChanged,
    AppealDecided,
    AppealReceived,
    CancellationCompleted,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
    Channel,
    EventPayload,
    LoginMethodBound,
    LoginMethodKind,
    LoginMethodUnbound,
    LoginSucceeded,
    MfaBound,
    MfaCodeReplayed,
    MfaCodeUse,
    MfaUnbound,
    MfaUnboundBy,
    NotificationRequested,
    PasswordChanged,
    ProtectionChanged,
    RealNameChanged,
    RealNameMethod,
    RealNameStatus,
    RealNameSubject,
    RealNameVerified,
    RemittanceSent,
    SecureEmailChanged,
    SecurePhoneChanged,
    TrustedDeviceAdded,
    new_envelope,
)
from shared.masking import mask_email, mask_phone

pytestmark = pytest.mark.unit

CONTACTS = Contacts(
    secure_phone="+8618112341234",
    secure_email="secure@example.com",
    message_phone="+8613900001111",
    contact_email="contact@example.com",
)
NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)


# --- SEC-4 routing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "channel", "expected"),
    [
        (Category.SECURITY, Channel.SMS, "+8618112341234"),
        (Category.SECURITY, Channel.EMAIL, "secure@example.com"),
        (Category.BILLING, Channel.SMS, "+8613900001111"),
        (Category.BILLING, Channel.EMAIL, "contact@example.com"),
        (Category.PRODUCT, Channel.EMAIL, "contact@example.com"),
        (Category.PRODUCT, Channel.SMS, None),
    ],
)
def test_sec_4_each_category_goes_to_its_own_channel(
    category: Category, channel: Channel, expected: str | None
) -> None:
    """SEC-4: security to the secure channels, billing to the message phone, notices to the
    contact email."""
    assert destination_for(category, channel, CONTACTS) == expected


def test_sec_4_security_messages_go_to_the_secure_phone_and_the_secure_email_both() -> None:
    """SEC-4: login anomalies, protection codes, cancellation results and binding changes are
    security messages, sent on both channels."""
    security = {
        "login_method_bound",
        "login_method_unbound",
        "login_anomaly",
        "account_locked",
        "password_changed",
        "secure_phone_changed",
        "secure_email_changed",
        "cancellation_requested",
        "cancellation_withdrawn",
        "cancellation_rejected",
        "cancellation_completed",
        "verification_code",
        "mfa_bound",
        "mfa_unbound",
        "mfa_code_replayed",
        "protection_turned_off",
        "trusted_device_added",
        "appeal_received",
        "appeal_decided",
        "real_name_changed",
        "real_name_verified",
        "remittance_sent",
        "real_name_change_approved",
        "real_name_change_rejected",
        "real_name_recheck_notice",
        "real_name_downgraded",
    }
    for message_type in security:
        kind = kind_of(message_type)
        assert kind.category is Category.SECURITY, message_type
        assert set(kind.channels) == {Channel.SMS, Channel.EMAIL}, message_type
    assert kind_of("account_frozen").category is Category.BILLING
    assert kind_of("welcome").category is Category.PRODUCT
    assert kind_of("welcome").channels == (Channel.EMAIL,)


# --- which events notify, with what --------------------------------------------------------

EVENTS: list[tuple[EventPayload, str]] = [
    (AccountRegistered(registered_at=NOW, method=LoginMethodKind.QQ), "welcome"),
    (
        LoginMethodBound(kind=LoginMethodKind.WECHAT, identifier_masked="o6***Nw", bound_at=NOW),
        "login_method_bound",
    ),
    (
        LoginMethodUnbound(kind=LoginMethodKind.QQ, identifier_masked="12***89", unbound_at=NOW),
        "login_method_unbound",
    ),
    (LoginSucceeded(method="password", ip="203.0.113.7", new_device=True, at=NOW), "login_anomaly"),
    (LoginSucceeded(method="wechat", dormant=True, at=NOW), "login_anomaly"),
    (MfaBound(bound_at=NOW), "mfa_bound"),
    (MfaUnbound(by=MfaUnboundBy.OPERATOR, unbound_at=NOW), "mfa_unbound"),
    (MfaCodeReplayed(at=NOW, during=MfaCodeUse.STEP_UP), "mfa_code_replayed"),
    (
        ProtectionChanged(
            login_protection=False,
            operation_protection=True,
            login_protection_was=True,
            operation_protection_was=True,
            changed_at=NOW,
        ),
        "protection_turned_off",
    ),
    (
        TrustedDeviceAdded(device_label="Firefox on Linux", trusted_until=NOW, at=NOW),
        "trusted_device_added",
    ),
    (
        AppealReceived(appeal_id="ap-1", email_masked="n***@example.com", reset_mfa=True, at=NOW),
        "appeal_received",
    ),
    (
        AppealDecided(
            appeal_id="ap-1", approved=True, email_masked="n***@example.com", decided_at=NOW
        ),
        "appeal_decided",
    ),
    (AccountLocked(locked_until=NOW, failures=10, at=NOW), "account_locked"),
    (PasswordChanged(how="reset", at=NOW), "password_changed"),
    (SecurePhoneChanged(phone_masked="+86 181****1234", at=NOW), "secure_phone_changed"),
    (SecureEmailChanged(email_masked="a***@x.com", at=NOW), "secure_email_changed"),
    (
        RealNameChanged(
            status=RealNameStatus.PENDING,
            previous_status=RealNameStatus.UNVERIFIED,
            subject=RealNameSubject.ENTERPRISE,
            reason="submitted",
            changed_at=NOW,
        ),
        "real_name_changed",
    ),
    (
        RealNameChanged(
            status=RealNameStatus.UNVERIFIED,
            previous_status=RealNameStatus.PENDING,
            reason="abandoned",
            changed_at=NOW,
        ),
        "real_name_changed",
    ),
    (
        RealNameVerified(
            subject=RealNameSubject.ENTERPRISE,
            method=RealNameMethod.REMITTANCE,
            verified_at=NOW,
        ),
        "real_name_verified",
    ),
    (
        RemittanceSent(receiving_account_masked="***************8901", sent_at=NOW, enter_by=NOW),
        "remittance_sent",
    ),
    (
        CancellationRequested(application_id="a1", requested_at=NOW, cooling_off_ends_at=NOW),
        "cancellation_requested",
    ),
    (CancellationWithdrawn(application_id="a1", withdrawn_at=NOW), "cancellation_withdrawn"),
    (
        CancellationRejected(application_id="a1", reasons=["ARREARS"], rejected_at=NOW),
        "cancellation_rejected",
    ),
    (CancellationCompleted(application_id="a1", completed_at=NOW), "cancellation_completed"),
    (
        AccountStatusChanged(
            status=AccountStatus.FROZEN, frozen_reasons=["overdue"], changed_at=NOW
        ),
        "account_frozen",
    ),
    (
        NotificationRequested(
            message_type="verification_code",
            channel=Channel.SMS,
            destination="+8618112341234",
            params={"code": "123456", "minutes": "5"},
        ),
        "verification_code",
    ),
]


@pytest.mark.parametrize(("payload", "message_type"), EVENTS, ids=[m for _, m in EVENTS])
def test_not_1_every_event_a_person_must_hear_about_becomes_a_complete_message(
    payload: EventPayload, message_type: str
) -> None:
    """NOT-1, NOT-2: each event maps to its message, with every template parameter."""
    event = new_envelope(payload, producer="test", account_id="100000000001")
    (command,) = notices(event)
    assert command.message_type == message_type
    assert command.source_event_id == event.event_id
    assert set(kind_of(message_type).params) <= set(command.params)
    for language in LANGUAGES:
        render(message_type, language, command.params)


@pytest.mark.parametrize(
    "payload",
    [
        LoginSucceeded(method="password", new_device=False, at=NOW),
        AccountStatusChanged(
            status=AccountStatus.FROZEN, frozen_reasons=["pending_cancellation"], changed_at=NOW
        ),
        AccountStatusChanged(status=AccountStatus.ACTIVE, changed_at=NOW),
        # RN-16: a proof's own notice is RealNameVerified's, which comes with it.
        RealNameChanged(
            status=RealNameStatus.VERIFIED,
            previous_status=RealNameStatus.PENDING,
            subject=RealNameSubject.PERSONAL,
            changed_at=NOW,
        ),
        # LOGIN-2: identity rate-limits lock notices; a renewed lock within the day is silent.
        AccountLocked(locked_until=NOW, failures=10, at=NOW, notify_owner=False),
        # PROT-1: turning a protection on, or leaving it on, is what the owner asked for.
        ProtectionChanged(
            login_protection=True,
            operation_protection=True,
            login_protection_was=False,
            operation_protection_was=True,
            changed_at=NOW,
        ),
    ],
)
def test_events_nobody_needs_to_hear_about_send_nothing(payload: EventPayload) -> None:
    """An ordinary login, or a freeze the cancellation message already explains, is silent."""
    assert notices(new_envelope(payload, producer="test", account_id="1")) == []


def test_a_requested_message_keeps_its_channel_and_destination() -> None:
    (payload, _) = EVENTS[-1]
    (command,) = notices(new_envelope(payload, producer="t", account_id="1"))
    assert (command.channel, command.destination) == (Channel.SMS, "+8618112341234")


def test_personal_data_is_masked() -> None:
    """NOT-2: phones and emails as the messages show them; IP addresses lose the host."""
    assert mask_phone("+8618112341234") == "+86 181****1234"
    assert mask_email("alice@example.com") == "a***@example.com"
    assert mask_ip("203.0.113.7") == "203.0.113.*"


# --- NOT-2 templates ------------------------------------------------------------------------

SAMPLE = {
    "account_id": "100000000001",
    "login": "a***@example.com",
    "kind": "wechat",
    "identifier": "o6_b***Nw",
    "at": "2026-11-22 08:30 UTC",
    "method": "password",
    "ip": "203.0.113.*",
    "locked_until": "2026-11-22 09:30 UTC",
    "failures": "10",
    "how": "reset",
    "phone": "+86 181****1234",
    "email": "a***@example.com",
    "previous": "+86 139****1111",
    "status": "verified",
    "subject": "personal",
    "application_id": "app-1",
    "cooling_off_ends_at": "2026-12-07 08:30 UTC",
    "reasons": "overdue",
    "code": "123456",
    "minutes": "5",
    "trigger": "new_device",
    "reason": "The documents do not match.",
    "by": "operator",
    "during": "login",
    "protections": "login_protection,operation_protection",
    "device": "Firefox on Linux",
    "trusted_until": "2026-11-29 08:30 UTC",
    "appeal_id": "ap-1",
    "reset_mfa": "yes",
    "decision": "rejected",
    "bank_account": "***************8901",
    "enter_by": "2026-11-29 08:30 UTC",
    "change_id": "7",
    "change_kind": "name",
    "downgrade_at": "2026-12-07 08:30 UTC",
    "operator_reason": "Please settle the open invoice first.",
}

# Parameters that pick a sentence rather than being shown.
SWITCHES = frozenset({"reset_mfa"})


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("message_type", sorted(CATALOGUE))
def test_not_2_every_template_renders_in_chinese_and_english(
    message_type: str, language: str
) -> None:
    """NOT-2: one template per message type and language: subject, text, HTML and SMS."""
    kind = kind_of(message_type)
    params = {p: SAMPLE[p] for p in kind.params}
    source = (TEMPLATE_DIR / template_name(message_type, language)).read_text()
    for block in BLOCKS:
        assert f"{{% block {block} %}}" in source, f"{message_type}.{language}: no {block}"
    rendered = render(message_type, language, params)
    assert rendered.subject and rendered.text.strip() and rendered.sms
    assert f'<html lang="{language}">' in rendered.html
    for name, value in params.items():
        if name in SWITCHES:
            continue
        # A code may be shown by its label (a list of codes, comma-separated, each by its own).
        for part in value.split(","):
            shown = (part, LABELS[language].get(part, part))
            assert any(s in rendered.text for s in shown), f"{message_type}.{language}: {part}"
    chinese = bool(re.search(r"[\u4e00-\u9fff]", rendered.text))
    assert chinese == (language == "zh-CN")


def test_not_2_the_html_part_escapes_what_comes_from_events() -> None:
    """NOT-2: Jinja2 autoescaping in the HTML part; the text part is left as it is."""
    params = {**SAMPLE, "identifier": "<script>alert(1)</script>"}
    rendered = render("login_method_bound", "en", params)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "<script>alert(1)</script>" in rendered.text


def test_not_2_a_missing_parameter_is_an_error_never_a_hole() -> None:
    with pytest.raises(TemplateError):
        render("verification_code", "en", {"minutes": "5"})


def test_not_2_a_channel_renders_the_parts_it_sends_and_they_match_the_full_rendering() -> None:
    params = {"code": "123456", "minutes": "5"}
    full = render("verification_code", "en", params)
    sms = render("verification_code", "en", params, channel=Channel.SMS)
    email = render("verification_code", "en", params, channel=Channel.EMAIL)
    assert sms.sms == full.sms and "123456" in sms.sms
    assert (sms.subject, sms.text, sms.html) == ("", "", "")
    assert (email.subject, email.text, email.html) == (full.subject, full.text, full.html)
    assert email.sms == ""
    for channel in (Channel.SMS, Channel.EMAIL):
        with pytest.raises(TemplateError):
            render("verification_code", "en", {"minutes": "5"}, channel=channel)


@pytest.mark.parametrize(
    ("asked", "used"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("fr", "zh-CN"),
        (None, "zh-CN"),
    ],
)
def test_an_unknown_language_falls_back_to_chinese(asked: str | None, used: str) -> None:
    assert template_language(asked) == used


def test_the_welcome_template_falls_back_to_chinese() -> None:
    assert render("welcome", "fr", {"account_id": "1", "login": "x"}).subject == "欢迎使用账号中心"


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(UnknownTemplate):
        render("nope", "en", {})


def test_codes_are_scrubbed_from_the_records_kept_after_sending() -> None:
    """CODE-3: the code is in the message only; the record keeps a mask."""
    assert scrub("verification_code", {"code": "123456", "minutes": "5"}) == {
        "code": SECRET_MASK,
        "minutes": "5",
    }
    assert scrub("welcome", {"account_id": "1"}) == {"account_id": "1"}


# --- NOT-1 / NOT-3: deciding and retrying ----------------------------------------------------


def _decide(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "message_type": "login_method_bound",
        "category": Category.SECURITY,
        "channel": Channel.EMAIL,
        "destination": None,
        "contacts": CONTACTS,
        "created_at": NOW,
        "now": NOW + timedelta(seconds=1),
        "contacts_grace": timedelta(seconds=60),
    }
    return decide(**{**values, **overrides})


def test_not_1_a_due_delivery_is_sent_to_the_routed_destination() -> None:
    assert _decide() == Send("secure@example.com")
    assert _decide(destination="x@example.com") == Send("x@example.com")


def test_not_3_a_delivery_waits_for_contacts_that_have_not_arrived_then_fails() -> None:
    """NOT-3: contacts travel on their own topic; a delivery waits for them, bounded."""
    assert isinstance(_decide(contacts=None), Wait)
    late = _decide(contacts=None, now=NOW + timedelta(seconds=61))
    assert late == Fail("no_destination")


def test_sec_4_a_missing_channel_is_skipped_when_another_reaches_the_person() -> None:
    phone_only = Contacts(secure_phone="+8618112341234")
    assert _decide(contacts=phone_only) == Skip("no_email_destination")
    assert _decide(contacts=Contacts(contact_email="c@example.com")) == Fail("no_destination")


def test_not_3_an_unknown_message_type_fails_instead_of_vanishing() -> None:
    assert _decide(message_type="nope") == Fail("unknown_message_type")


@pytest.mark.parametrize("attempts", range(1, 12))
def test_not_3_backoff_doubles_with_jitter_and_stays_within_its_bounds(attempts: int) -> None:
    """NOT-3: exponential backoff with jitter, capped by the setting."""
    rng = random.Random(attempts)
    ceiling = min(1.0 * 2 ** (attempts - 1), 30.0)
    delays = [retry_delay(attempts, base_s=1.0, max_s=30.0, rng=rng) for _ in range(200)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len({round(d, 6) for d in delays}) > 1  # jittered, so retries spread out


def test_not_3_permanent_failures_and_exhausted_retries_give_up() -> None:
    """NOT-3: a permanent refusal fails at once; a transient one until attempts run out."""
    common: dict[str, Any] = {"error": "x", "max_attempts": 3, "base_s": 1.0, "max_s": 10.0}
    assert isinstance(after_failure(permanent=False, attempts=1, **common), Retry)
    assert isinstance(after_failure(permanent=False, attempts=2, **common), Retry)
    exhausted = after_failure(permanent=False, attempts=3, **common)
    assert isinstance(exhausted, GiveUp) and exhausted.reason.startswith("retries_exhausted")
    permanent = after_failure(permanent=True, attempts=1, **common)
    assert isinstance(permanent, GiveUp) and permanent.reason == "permanent: x"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("message_type", sorted(CATALOGUE))
def test_not_2_a_template_uses_only_the_parameters_its_message_declares(
    message_type: str, language: str
) -> None:
    """Parameters are declared once (domain/messages.py); a template naming another one
    would only fail at sending time."""
    env = jinja2.Environment()
    source = (TEMPLATE_DIR / f"{message_type}.{language}.j2").read_text()
    used = jinja2.meta.find_undeclared_variables(env.parse(source))
    assert used - {"labels", "lang"} <= set(kind_of(message_type).params)


def test_each_message_type_is_one_class_whose_fields_are_its_parameters() -> None:
    declared = {cls.message_type: cls for cls in _message_classes()}
    assert set(declared) == set(CATALOGUE)
    for message_type, cls in declared.items():
        assert CATALOGUE[message_type].params == cls.parameters()
    with pytest.raises(TypeError):
        messages.Welcome(account_id="100000000001")  # type: ignore[call-arg]


def _message_classes() -> list[type[messages.Message]]:
    found, todo = [], [messages.Message]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if "message_type" in vars(sub):
                found.append(sub)
    return found
