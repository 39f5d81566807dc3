"""Events the verification service publishes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.events.billing import MaskedAccountNumber
from shared.events.envelope import EventPayload
from shared.events.topics import Topic


class RealNameStatus(StrEnum):
    """RN-1: real-name status of an account."""

    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"


class RealNameSubject(StrEnum):
    PERSONAL = "personal"
    ENTERPRISE = "enterprise"


class RealNameMethod(StrEnum):
    """RN-2, RN-5: how an account proved its real name."""

    WECHAT_SCAN = "wechat_scan"
    QQ_SCAN = "qq_scan"
    FACE = "face"
    WECHAT_OFFICIAL_PLATFORM = "wechat_official_platform"
    LEGAL_PERSON_WECHAT_SCAN = "legal_person_wechat_scan"
    LEGAL_PERSON_FACE = "legal_person_face"
    RECHARGE = "recharge"
    REMITTANCE = "remittance"


class DocumentRegion(StrEnum):
    """RN-4: where the person's identity document comes from."""

    MAINLAND = "mainland"
    HONG_KONG = "hong_kong"
    MACAO = "macao"
    TAIWAN = "taiwan"


class RealNameChanged(EventPayload):
    """An account's real-name status or subject changed (RN-16)."""

    event_type = "RealNameChanged"
    topic = Topic.VERIFICATION_EVENTS

    status: RealNameStatus = Field(description="New status.", examples=["verified"])
    previous_status: RealNameStatus = Field(description="Status before.", examples=["pending"])
    subject: RealNameSubject | None = Field(
        default=None, description="Personal or enterprise, once verified."
    )
    reason: str | None = Field(
        default=None, description="Why, for a downgrade.", examples=["entity_deregistered"]
    )
    changed_at: datetime = Field(description="When, UTC.")


class RealNameVerified(EventPayload):
    """An account proved its real name (RN-16): a person or an enterprise, by one method.

    Emitted with the RealNameChanged of the same change (RealNameChanged carries the status
    every service acts on, RN-14; this one says how it was proven). Never carries an ID
    number, a name or a bank account, masked or not (RN-17)."""

    event_type = "RealNameVerified"
    topic = Topic.VERIFICATION_EVENTS

    subject: RealNameSubject = Field(description="Personal or enterprise.", examples=["personal"])
    method: RealNameMethod = Field(
        description="How it was proven (RN-2 personal, RN-5 enterprise methods).",
        examples=["wechat_scan"],
    )
    region: DocumentRegion | None = Field(
        default=None,
        description="Personal: where the identity document comes from (RN-4); null for an "
        "enterprise.",
        examples=["mainland"],
    )
    verified_at: datetime = Field(description="When, UTC.")
    change_id: int | None = Field(
        default=None,
        ge=1,
        description="The reviewed enterprise change (RN-11) whose approval this is (its "
        "RealNameChangeDecided tells the owner); null for any other proof.",
        examples=[None],
    )


class RemittanceSent(EventPayload):
    """RN-5: the platform sent a random amount under 1 yuan to the enterprise's bank
    account; the owner enters it by `enter_by`. Never carries the amount (the proof) nor
    the account number but its last four digits (RN-17)."""

    event_type = "RemittanceSent"
    topic = Topic.VERIFICATION_EVENTS

    receiving_account_masked: MaskedAccountNumber = Field(
        description="The enterprise's bank account the amount went to, all but its last four "
        "digits masked.",
        examples=["************1234"],
    )
    sent_at: datetime = Field(description="When the bank accepted the transfer, UTC.")
    enter_by: datetime = Field(description="The amount must be entered before this, UTC.")


class RealNameChangeKind(StrEnum):
    """RN-11: what an enterprise change changes."""

    ENTITY = "entity"  # another enterprise (another code)
    NAME = "name"  # the same code under its new name
    LEGAL_PERSON = "legal_person"  # the same enterprise, another legal person


class RealNameChangeDecided(EventPayload):
    """RN-11: an operator approved or rejected an enterprise change under review.

    An approval comes with the RealNameChanged and RealNameVerified (`change_id` set) of the
    new data, in the same transaction; a rejection changes nothing else. Never carries a
    name, a code or an ID number (RN-17): the change's id and kind only, and the operator's
    reason as they wrote it for the applicant."""

    event_type = "RealNameChangeDecided"
    topic = Topic.VERIFICATION_EVENTS

    change_id: int = Field(ge=1, description="Id of the change request.", examples=[42])
    kind: RealNameChangeKind = Field(description="What the change changes.", examples=["name"])
    approved: bool = Field(description="Approved (true) or rejected (false).")
    reason: str | None = Field(
        default=None,
        max_length=500,
        description="The operator's reason, shown to the applicant (required on a rejection).",
        examples=["The business licence does not show the new name."],
    )
    decided_at: datetime = Field(description="When, UTC.")


class RealNameRecheckFailed(EventPayload):
    """RN-13: the periodic re-check found the enterprise deregistered, or registered under
    another name: the notice before the downgrade. Unless the registry agrees again by
    `downgrade_at`, the account turns unverified then (a RealNameChanged with this reason)."""

    event_type = "RealNameRecheckFailed"
    topic = Topic.VERIFICATION_EVENTS

    reason: str = Field(
        max_length=40,
        description="entity_deregistered or registry_mismatch.",
        examples=["entity_deregistered"],
    )
    noticed_at: datetime = Field(description="When the re-check found it, UTC.")
    downgrade_at: datetime = Field(description="When the account turns unverified, UTC.")
