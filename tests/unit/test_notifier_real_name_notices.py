"""The notices of verification's enterprise events (issue 10, item 7): an enterprise change
approved or rejected (RN-11), a re-check's notice and the downgrade after it (RN-13). Which
events tell the owner, with what, and that one event is one message. Pure: `notices()` and
the templates, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.domain.catalogue import Notify, kind_of
from services.notifier.domain.routing import Category
from services.notifier.domain.templates import LABELS, LANGUAGES, render
from services.notifier.entrypoints.subscribers import RECHECK_DOWNGRADE_REASONS, notices
from services.verification.domain.change_requests import ChangeKind
from services.verification.domain.status import DOWNGRADE_REASONS
from shared.events import (
    Channel,
    EventPayload,
    RealNameChanged,
    RealNameChangeDecided,
    RealNameChangeKind,
    RealNameMethod,
    RealNameRecheckFailed,
    RealNameStatus,
    RealNameSubject,
    RealNameVerified,
    new_envelope,
)

pytestmark = pytest.mark.unit

ACCOUNT = "100000000042"
NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
AT = "2026-11-22 08:30 UTC"  # NOW as messages show it
GRACE_END = NOW + timedelta(days=15)
GRACE_END_SHOWN = "2026-12-07 08:30 UTC"
REASON = "The business licence shows 李四 as the legal person."


def _notices(payload: EventPayload) -> list[Notify]:
    return notices(new_envelope(payload, producer="verification", account_id=ACCOUNT))


def _one(payload: EventPayload) -> Notify:
    (command,) = _notices(payload)
    return command


def _security_on_both_channels(command: Notify) -> None:
    kind = kind_of(command.message_type)
    assert kind.category is Category.SECURITY  # SEC-4: the secure phone and email
    assert set(kind.channels) == {Channel.SMS, Channel.EMAIL}
    assert command.channel is None and command.destination is None


def _decided(approved: bool, reason: str | None = REASON) -> RealNameChangeDecided:
    return RealNameChangeDecided(
        change_id=7,
        kind=RealNameChangeKind.LEGAL_PERSON,
        approved=approved,
        reason=reason,
        decided_at=NOW,
    )


def _downgrade(reason: str) -> RealNameChanged:
    return RealNameChanged(
        status=RealNameStatus.UNVERIFIED,
        previous_status=RealNameStatus.VERIFIED,
        reason=reason,
        changed_at=NOW,
    )


# --- RN-11: the review of an enterprise change ------------------------------------------------


def test_rn_11_an_approved_change_tells_the_owner_with_the_kind_and_the_note_by_email() -> None:
    command = _one(_decided(True))

    assert command.message_type == "real_name_change_approved"
    assert command.params == {
        "account_id": ACCOUNT,
        "change_id": "7",
        "change_kind": "legal_person",
        "reason": REASON,
        "at": AT,
    }
    _security_on_both_channels(command)
    en = render(command.message_type, "en", command.params)
    zh = render(command.message_type, "zh-CN", command.params)
    assert "update of the legal person" in en.text and "approved" in en.sms
    assert "更新法定代表人" in zh.sms and "审核通过" in zh.sms
    # The operator's note is free text: in the email, never in an SMS.
    assert REASON in en.text and REASON not in en.sms and REASON not in zh.sms


def test_rn_11_an_approval_without_a_note_shows_a_dash() -> None:
    command = _one(_decided(True, reason=None))
    assert command.params["reason"] == "-"
    assert "Note: -" in render(command.message_type, "en", command.params).text


def test_rn_11_an_approval_is_one_message_not_also_real_name_verified() -> None:
    """The approval's RealNameChanged (a proof) and RealNameVerified (with change_id) are
    silent: the owner hears of the approval once, from RealNameChangeDecided."""
    changed = RealNameChanged(
        status=RealNameStatus.VERIFIED,
        previous_status=RealNameStatus.VERIFIED,
        subject=RealNameSubject.ENTERPRISE,
        changed_at=NOW,
    )
    verified = RealNameVerified(
        subject=RealNameSubject.ENTERPRISE,
        method=RealNameMethod.LEGAL_PERSON_FACE,
        verified_at=NOW,
        change_id=7,
    )
    sent = [c.message_type for p in (changed, verified, _decided(True)) for c in _notices(p)]
    assert sent == ["real_name_change_approved"]
    # Any other proof still tells how it was proven.
    plain = verified.model_copy(update={"change_id": None})
    assert _one(plain).message_type == "real_name_verified"


def test_rn_11_a_rejected_change_tells_the_reason_by_email_only() -> None:
    command = _one(_decided(False))

    assert command.message_type == "real_name_change_rejected"
    assert command.params["reason"] == REASON and command.params["change_kind"] == "legal_person"
    _security_on_both_channels(command)
    for language in LANGUAGES:
        rendered = render(command.message_type, language, command.params)
        assert REASON in rendered.text and REASON in rendered.html
        assert REASON not in rendered.sms
    en = render(command.message_type, "en", command.params)
    assert "rejected" in en.subject and "stays" in en.sms and "Reason by email" in en.sms
    assert "被驳回" in render(command.message_type, "zh-CN", command.params).sms


@pytest.mark.parametrize("kind", list(RealNameChangeKind))
def test_rn_11_every_change_kind_has_its_words_in_both_languages(kind: RealNameChangeKind) -> None:
    decided = _decided(False).model_copy(update={"kind": kind})
    command = _one(decided)
    for language in LANGUAGES:
        label = LABELS[language][kind.value]
        assert label in render(command.message_type, language, command.params).sms


def test_rn_11_the_event_names_the_kinds_verification_has() -> None:
    assert {k.value for k in RealNameChangeKind} == {k.value for k in ChangeKind}


# --- RN-13: the re-check notice and the downgrade -----------------------------------------------


@pytest.mark.parametrize(
    ("reason", "en_said", "zh_said"),
    [
        ("entity_deregistered", "the enterprise is deregistered", "企业已注销"),
        ("registry_mismatch", "under another name or code", "不一致"),
    ],
)
def test_rn_13_a_recheck_notice_names_the_reason_and_the_end_of_the_grace_period(
    reason: str, en_said: str, zh_said: str
) -> None:
    command = _one(RealNameRecheckFailed(reason=reason, noticed_at=NOW, downgrade_at=GRACE_END))

    assert command.message_type == "real_name_recheck_notice"
    assert command.params == {
        "account_id": ACCOUNT,
        "reason": reason,
        "downgrade_at": GRACE_END_SHOWN,
        "at": AT,
    }
    _security_on_both_channels(command)
    en = render(command.message_type, "en", command.params)
    zh = render(command.message_type, "zh-CN", command.params)
    for rendered in (en, zh):
        assert GRACE_END_SHOWN in rendered.subject
        assert GRACE_END_SHOWN in rendered.text and GRACE_END_SHOWN in rendered.sms
    assert en_said in en.text and en_said in en.sms
    assert zh_said in zh.text and zh_said in zh.sms


@pytest.mark.parametrize("reason", sorted(RECHECK_DOWNGRADE_REASONS))
def test_rn_13_a_downgrade_is_one_message_not_also_real_name_changed(reason: str) -> None:
    command = _one(_downgrade(reason))

    assert command.message_type == "real_name_downgraded"
    assert command.params == {"account_id": ACCOUNT, "reason": reason, "at": AT}
    _security_on_both_channels(command)
    en = render(command.message_type, "en", command.params)
    assert "unverified since" in en.text and "unverified" in en.sms
    assert "未认证" in render(command.message_type, "zh-CN", command.params).sms


@pytest.mark.parametrize(
    "payload",
    [
        # RN-12: a created sub-account follows its root: the ordinary status message.
        _downgrade("root_unverified"),
        # A pending method that ended without proof is no downgrade either.
        RealNameChanged(
            status=RealNameStatus.UNVERIFIED,
            previous_status=RealNameStatus.PENDING,
            reason="abandoned",
            changed_at=NOW,
        ),
    ],
)
def test_rn_13_other_ways_to_unverified_stay_real_name_changed(payload: RealNameChanged) -> None:
    assert _one(payload).message_type == "real_name_changed"


def test_rn_13_the_notifier_knows_the_downgrade_reasons_verification_has() -> None:
    assert {r.value for r in DOWNGRADE_REASONS} == RECHECK_DOWNGRADE_REASONS
