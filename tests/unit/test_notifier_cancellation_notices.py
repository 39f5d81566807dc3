"""CAN-8: the cancellation notices (received, withdrawn, rejected with its reasons in words,
completed) are security messages for the secure phone and the secure email, in zh-CN and en.
Pure: `notices()`, the catalogue and the templates, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.cancellation.domain.preconditions import Reason
from services.notifier.domain.cancellation_reasons import OPERATOR_REJECTED, REASON_WORDS
from services.notifier.domain.catalogue import kind_of
from services.notifier.domain.routing import Category
from services.notifier.domain.templates import LANGUAGES, render
from services.notifier.entrypoints.subscribers import notices
from shared.events import (
    CancellationCompleted,
    CancellationRejected,
    CancellationRequested,
    CancellationWithdrawn,
    Channel,
    EventPayload,
    new_envelope,
)

pytestmark = pytest.mark.unit

ACCOUNT = "100000000042"
NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)
AT = "2026-11-22 08:30 UTC"
NOTE = "Your <invoice> 2026-11 is still open."


def _params(payload: EventPayload) -> tuple[str, dict[str, str]]:
    (notify,) = notices(new_envelope(payload, producer="cancellation", account_id=ACCOUNT))
    return notify.message_type, dict(notify.params)


@pytest.mark.parametrize(
    "payload",
    [
        CancellationRequested(
            application_id="a1", requested_at=NOW, cooling_off_ends_at=NOW + timedelta(days=15)
        ),
        CancellationWithdrawn(application_id="a1", withdrawn_at=NOW),
        CancellationRejected(application_id="a1", reasons=["ARREARS"], rejected_at=NOW),
        CancellationCompleted(application_id="a1", completed_at=NOW),
    ],
    ids=["requested", "withdrawn", "rejected", "completed"],
)
def test_can_8_every_cancellation_notice_is_a_security_message_for_sms_and_email(
    payload: EventPayload,
) -> None:
    """CAN-8, SEC-4: each cancellation event is one security message, sent on both channels
    (the secure phone and the secure email), with a template in both languages."""
    message_type, params = _params(payload)
    kind = kind_of(message_type)
    assert kind.category is Category.SECURITY
    assert kind.channels == (Channel.SMS, Channel.EMAIL)
    assert params["application_id"] == "a1" and params["account_id"] == ACCOUNT
    for language in LANGUAGES:
        rendered = render(message_type, language, params)
        assert rendered.subject and rendered.sms and ACCOUNT in rendered.sms


def test_can_8_every_reason_code_of_cancellation_has_words_in_both_languages() -> None:
    """CAN-8: a rejection shows its reasons readably: every code cancellation can send (its
    precondition reasons and OPERATOR_REJECTED) has words in zh-CN and in en."""
    codes = {r.value for r in Reason} | {OPERATOR_REJECTED}
    for language in LANGUAGES:
        assert set(REASON_WORDS[language]) == codes, language
        assert all(words and words not in codes for words in REASON_WORDS[language].values())


@pytest.mark.parametrize("language", LANGUAGES)
def test_can_8_a_rejection_shows_each_reason_in_words_and_never_the_code(language: str) -> None:
    """CAN-8: the reasons appear in the language's words, in the email and in the SMS; the
    codes themselves do not."""
    message_type, params = _params(
        CancellationRejected(application_id="a1", reasons=["ARREARS", "VOUCHERS"], rejected_at=NOW)
    )
    assert params["reasons"] == "ARREARS,VOUCHERS" and params["operator_reason"] == "-"
    rendered = render(message_type, language, params)
    for code in ("ARREARS", "VOUCHERS"):
        words = REASON_WORDS[language][code]
        assert words in rendered.text and words in rendered.html and words in rendered.sms
        assert code not in rendered.text + rendered.html + rendered.sms
    assert AT in rendered.text
    assert ("客服说明" if language == "zh-CN" else "Support's note") not in rendered.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_can_8_an_operators_reason_is_in_the_email_escaped_and_not_in_the_sms(
    language: str,
) -> None:
    """CAN-8: an operator's rejection shows the operator's reason (free text) in the email,
    HTML-escaped, and keeps it out of the SMS, which points to the email."""
    message_type, params = _params(
        CancellationRejected(
            application_id="a1",
            reasons=[OPERATOR_REJECTED],
            rejected_at=NOW,
            operator_reason=NOTE,
        )
    )
    assert params["operator_reason"] == NOTE
    rendered = render(message_type, language, params)
    assert NOTE in rendered.text
    assert "Your &lt;invoice&gt; 2026-11 is still open." in rendered.html
    assert "invoice" not in rendered.sms
    assert REASON_WORDS[language][OPERATOR_REJECTED] in rendered.sms


def test_can_8_a_reason_code_the_notifier_does_not_know_yet_is_shown_as_it_is() -> None:
    """A code a newer cancellation release adds is shown as the code: never a hole."""
    message_type, params = _params(
        CancellationRejected(application_id="a1", reasons=["NEW_REASON"], rejected_at=NOW)
    )
    for language in LANGUAGES:
        assert "NEW_REASON" in render(message_type, language, params).sms
