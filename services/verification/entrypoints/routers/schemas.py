"""Request and reply shapes of verification's HTTP API, with their length caps."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from services.verification.domain.change_requests import ChangeKind, ChangeState
from services.verification.domain.enterprise import (
    MAX_ENTERPRISE_NAME_CHARS,
    EnterpriseMethod,
    LegalPersonRegion,
)
from services.verification.domain.personal import MAX_NAME_CHARS, PersonalMethod, Region
from shared.events import AccountStatus, RealNameMethod, RealNameStatus, RealNameSubject
from shared.inputs import RequestModel

DOCUMENT_NUMBER = 32  # resident ID 18, permits 8-11; room for separators people type


class PersonalIn(RequestModel):
    method: PersonalMethod = Field(
        description="RN-2: wechat_scan, qq_scan or face (Hong Kong, Macao and Taiwan "
        "residents: wechat_scan only, RN-4).",
        examples=["wechat_scan"],
    )
    region: Region = Field(
        default=Region.MAINLAND,
        description="Where the identity document comes from: mainland (resident ID card), "
        "hong_kong / macao (Mainland Travel Permit for HK and Macao Residents), taiwan "
        "(Mainland Travel Permit for Taiwan Residents); international is refused with a "
        "pointer to the international site (RN-4).",
        examples=["mainland"],
    )
    name: str = Field(
        min_length=1,
        max_length=MAX_NAME_CHARS,
        description="The name on the document.",
        examples=["张三"],
    )
    document_number: str = Field(
        min_length=1,
        max_length=DOCUMENT_NUMBER,
        description="Resident ID number (18 characters, GB 11643) or travel permit number.",
        examples=["11010119900307001X"],
    )


class PersonOut(BaseModel):
    region: str = Field(description="mainland, hong_kong, macao or taiwan.")
    document_kind: str = Field(description="resident_id, hk_macao_permit or taiwan_permit.")
    name: str = Field(description="Masked: the first character only.", examples=["张*"])
    document: str = Field(
        description="Masked: the first and last characters only.",
        examples=["1****************X"],
    )
    verified_at: datetime


class HistoryOut(BaseModel):
    at: datetime
    previous_status: RealNameStatus
    status: RealNameStatus
    subject: RealNameSubject | None
    method: RealNameMethod | None
    reason: str = Field(description="verified, submitted, abandoned, changed, or a downgrade's.")
    details: dict[str, Any] = Field(description="What was verified, masked.")


class EnterpriseOut(BaseModel):
    name: str = Field(description="As in the registry.")
    uscc: str = Field(description="Unified Social Credit Code (public registry data).")
    legal_person: str = Field(description="The legal person's name, masked.", examples=["张*"])
    legal_person_region: str = Field(description="mainland, hong_kong, macao, taiwan, foreign.")
    legal_person_document: str | None = Field(
        description="Masked, when a legal-person method checked it."
    )
    method: RealNameMethod
    verified_at: datetime


class PendingOut(BaseModel):
    """RN-5: a recharge or remittance waiting."""

    method: RealNameMethod = Field(examples=["recharge"])
    name: str
    uscc: str
    started_at: datetime = Field(
        description="Recharge: when it was asked; remittance: when the bank accepted it."
    )
    expires_at: datetime = Field(description="RN-5: the end of the 7 days.")
    recharge_amount: str | None = Field(
        description="Recharge only: the exact amount to pay, in yuan, from the enterprise's "
        "corporate account (its name must be the enterprise's).",
        examples=["0.37"],
    )
    bank_account: str | None = Field(
        description="Remittance only: where the amount was sent, masked.",
        examples=["************1234"],
    )
    tries_left: int | None = Field(description="Remittance only: wrong amounts still allowed.")


class RealNameOut(BaseModel):
    account_id: str
    account_status: AccountStatus = Field(description="ACC-3, as identity last said.")
    frozen_reasons: list[str]
    status: RealNameStatus = Field(description="RN-1.")
    subject: RealNameSubject | None
    method: RealNameMethod | None
    verified_at: datetime | None = Field(description="The last authentication.")
    person: PersonOut | None = Field(description="The verified person (personal subject).")
    enterprise: EnterpriseOut | None = Field(
        default=None, description="The verified enterprise (enterprise subject)."
    )
    pending: PendingOut | None = Field(
        default=None, description="RN-5: the recharge or remittance waiting, if any."
    )
    history: list[HistoryOut] = Field(description="RN-1: every change, newest first.")
    change_under_review: ChangeOut | None = Field(
        default=None, description="RN-11: the enterprise change waiting for review, if any."
    )
    recheck_notice: RecheckNoticeOut | None = Field(
        default=None,
        description="RN-13: a re-check found the enterprise deregistered or mismatched; the "
        "account turns unverified at downgrade_at unless the registry agrees again.",
    )


class RecheckNoticeOut(BaseModel):
    reason: str = Field(examples=["entity_deregistered"])
    noticed_at: datetime
    downgrade_at: datetime


class EnterpriseIn(RequestModel):
    method: EnterpriseMethod = Field(
        description="RN-5: wechat_official_platform, legal_person_wechat_scan, "
        "legal_person_face (instant); recharge or remittance (pending up to 7 days).",
        examples=["remittance"],
    )
    region: Region = Field(
        default=Region.MAINLAND,
        description="Where the enterprise is registered: only mainland enterprises verify "
        "here (others: INTERNATIONAL_SITE_ONLY, RN-4).",
    )
    name: str = Field(
        min_length=1,
        max_length=MAX_ENTERPRISE_NAME_CHARS,
        description="The enterprise's name as on its business licence.",
        examples=["杭州示例科技有限公司"],
    )
    uscc: str = Field(
        min_length=1,
        max_length=32,
        description="RN-8: Unified Social Credit Code, 18 characters (GB 32100).",
        examples=["91330100MA27XXXXXX"],
    )
    legal_person_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, examples=["张三"])
    legal_person_region: LegalPersonRegion = Field(
        default=LegalPersonRegion.MAINLAND,
        description="Where the legal person's document comes from; foreign: no legal-person "
        "method (RN-6).",
    )
    legal_person_document: str | None = Field(
        default=None,
        max_length=DOCUMENT_NUMBER,
        description="Legal-person methods only: the legal person's resident ID or travel "
        "permit number.",
    )
    licence_issued_on: date | None = Field(
        default=None,
        description="RN-15: the business licence's issue date; a licence too new to be in "
        "the registry then gets LICENCE_TOO_NEW with the day to try again.",
    )
    bank_name: str | None = Field(
        default=None, max_length=100, description="Remittance only: the bank and branch."
    )
    bank_account_number: str | None = Field(
        default=None,
        max_length=40,
        description="Remittance only: the enterprise's corporate account (8-30 digits; "
        "RN-17: sealed, shown masked).",
    )

    def __repr__(self) -> str:  # never the documents or the account number (RN-17)
        return f"EnterpriseIn(method={self.method!r}, uscc={self.uscc!r})"


class RemittanceAmountIn(RequestModel):
    amount: str = Field(
        min_length=1,
        max_length=8,
        description="RN-5: the amount received, in yuan (e.g. 0.37).",
        examples=["0.37"],
    )


class EnterpriseLimitIn(RequestModel):
    limit: int | None = Field(
        strict=True,
        ge=1,
        le=100_000,
        description="RN-7: accounts this enterprise may verify; null: the default again.",
        examples=[20],
    )
    reason: str = Field(min_length=1, max_length=500, description="Why (audited).")


class EnterpriseLimitOut(BaseModel):
    uscc: str
    limit: int = Field(description="In force now.")
    default: int
    overridden: bool
    previous: int | None = Field(description="The override before this change; null: none.")
    counted: int = Field(description="Accounts the enterprise verifies or is verifying now.")


class ChangeIn(RequestModel):
    """RN-11: an enterprise change, reviewed by an operator."""

    kind: ChangeKind = Field(
        description="entity (another enterprise: another code), name (the same code under "
        "its new name), legal_person (the same enterprise, another legal person).",
        examples=["name"],
    )
    name: str = Field(
        min_length=1,
        max_length=MAX_ENTERPRISE_NAME_CHARS,
        description="The enterprise's name as on its (new) business licence.",
        examples=["杭州示例科技有限公司"],
    )
    uscc: str = Field(min_length=1, max_length=32, description="RN-8: the enterprise's (new) code.")
    legal_person_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, examples=["张三"])
    legal_person_region: LegalPersonRegion = Field(default=LegalPersonRegion.MAINLAND)
    legal_person_document: str | None = Field(
        default=None,
        max_length=DOCUMENT_NUMBER,
        description="Optional: the legal person's resident ID or travel permit number, "
        "checked and sealed (RN-17) for the reviewer.",
    )
    licence_issued_on: date | None = Field(default=None, description="RN-15.")

    def __repr__(self) -> str:  # never the document (RN-17)
        return f"ChangeIn(kind={self.kind!r}, uscc={self.uscc!r})"


class ChangeOut(BaseModel):
    id: int
    account_id: str
    kind: ChangeKind
    state: ChangeState = Field(description="under_review, approved, rejected or withdrawn.")
    name: str
    uscc: str
    legal_person: str = Field(description="Masked.")
    legal_person_region: str
    legal_person_document: str | None = Field(description="Masked, when given.")
    previous: dict[str, Any] = Field(description="What the change replaces (masked).")
    submitted_at: datetime
    review_due_at: datetime = Field(description="RN-11: the end of the review period.")
    overdue: bool = Field(description="Still under review after its review period.")
    decided_at: datetime | None
    decision_reason: str | None


class ChangeListOut(BaseModel):
    changes: list[ChangeOut]


class ChangeDecisionIn(RequestModel):
    reason: str = Field(min_length=1, max_length=500, description="Why (audited).")


class ChangeApprovalIn(RequestModel):
    reason: str | None = Field(default=None, max_length=500, description="Why (audited).")
