"""Dev mode only (mounted when DEV_MODE is on): tell the fake person provider and the fake
enterprise gateway (registry, instant checks, bank) what to answer, and read what the fake
bank sent."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from services.verification.adapters.persons import Outcome
from services.verification.domain.enterprise import (
    MAX_ENTERPRISE_NAME_CHARS,
    RegistryRecord,
    check_uscc,
    format_fen,
)
from services.verification.domain.errors import NothingPending
from services.verification.entrypoints.dependencies import context
from services.verification.service_layer.context import VerificationContext
from shared.inputs import ACCOUNT_ID_PATTERN, RequestModel

router = APIRouter(prefix="/dev", tags=["dev"])


class PersonOutcomeIn(RequestModel):
    account_id: str = Field(max_length=20, pattern=ACCOUNT_ID_PATTERN, examples=["100000000001"])
    outcome: Outcome = Field(
        description="pass, fail (PERSON_NOT_CONFIRMED) or timeout (the check never answers: "
        "PROVIDER_TIMEOUT after PERSON_PROVIDER_TIMEOUT_S).",
        examples=["fail"],
    )


@router.put("/person-checks", status_code=204)
async def tell_fake_person_provider(
    body: PersonOutcomeIn, ctx: VerificationContext = Depends(context)
) -> None:
    """What the fake WeChat/QQ/face checks answer for the account from now on (a day)."""
    await ctx.fake_persons.tell(body.account_id, body.outcome)


class EnterpriseOutcomeIn(RequestModel):
    account_id: str = Field(max_length=20, pattern=ACCOUNT_ID_PATTERN, examples=["100000000001"])
    outcome: Outcome = Field(
        description="What the WeChat official platform and legal-person checks answer: "
        "pass, fail (ENTERPRISE_NOT_CONFIRMED) or timeout.",
        examples=["fail"],
    )


class RegistryRecordIn(RequestModel):
    uscc: str = Field(max_length=32, examples=["91110000600037341L"])
    name: str = Field(max_length=MAX_ENTERPRISE_NAME_CHARS, examples=["北京示例科技有限公司"])
    deregistered: bool = Field(default=False, strict=True)


class FakeRemittanceOut(BaseModel):
    amount: str = Field(description="What the fake bank sent, in yuan.", examples=["0.37"])
    bank_account: str = Field(description="Masked.", examples=["************1234"])
    reference: str
    sent_at: datetime


@router.put("/enterprise-checks", status_code=204)
async def tell_fake_enterprise_checks(
    body: EnterpriseOutcomeIn, ctx: VerificationContext = Depends(context)
) -> None:
    """What the fake instant enterprise checks answer for the account from now on."""
    await ctx.fake_enterprises.tell(body.account_id, body.outcome)


@router.put("/registry", status_code=204)
async def put_fake_registry_record(
    body: RegistryRecordIn, ctx: VerificationContext = Depends(context)
) -> None:
    """The fake registry knows this code under this name (a week); codes it was not told
    about are not in it."""
    code = check_uscc(body.uscc)
    await ctx.fake_enterprises.put_record(RegistryRecord(code, body.name, body.deregistered))


@router.get("/remittances/{account_id}")
async def fake_bank_sent(
    account_id: str = Path(max_length=20, pattern=ACCOUNT_ID_PATTERN),
    ctx: VerificationContext = Depends(context),
) -> FakeRemittanceOut:
    """What the fake bank last sent to the account's enterprise: the amount to enter."""
    sent = await ctx.fake_enterprises.sent_to(account_id)
    if sent is None:
        raise NothingPending("The fake bank sent nothing for this account.")
    return FakeRemittanceOut(
        amount=format_fen(sent.amount_fen),
        bank_account=sent.bank_account_masked,
        reference=sent.reference,
        sent_at=sent.at,
    )
