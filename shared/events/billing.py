"""Facts billing publishes on billing.events (EXT): not our producer, our contract."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

from shared.events.facts import Count, Fact, Fen, Reference, Standing, Text
from shared.events.topics import Topic

# RN-17: a bank account number never travels in clear; at most its last four digits.
MaskedAccountNumber = Annotated[str, StringConstraints(pattern=r"^\*{1,30}[0-9]{4}$")]


class BillingStanding(Standing):
    """Billing's state of one account's money (CAN-2, RN-10).

    Sent whenever one of the values changes, and for any account on request; the newest
    `as_of` per account is the truth, and an account billing never reported is unknown.
    """

    event_type = "BillingStanding"
    topic = Topic.BILLING_EVENTS

    overdue_fen: Fen = Field(
        description="Arrears: bills past due and unpaid, in fen (1/100 yuan); 0 when none. "
        "CAN-2 (no arrears), RN-10 (no real-name change while overdue).",
        examples=[0, 12050],
    )
    advance_payment_fen: Fen = Field(
        description="Advance payments outstanding: amounts the platform advanced for the "
        "account and has not recovered, in fen; 0 when none. RN-10.",
        examples=[0],
    )
    balance_fen: Fen = Field(
        description="Cash balance left on the account, in fen; 0 when none. CAN-2 (no cash "
        "balance: it must be spent or withdrawn first).",
        examples=[0, 3700],
    )
    vouchers: Count = Field(
        description="Vouchers the account holds that are neither expired nor used up. CAN-2.",
        examples=[0],
    )
    pending_orders: Count = Field(
        description="Orders not yet paid, or paid and not yet delivered or refunded (pending "
        "orders or services). CAN-2.",
        examples=[0],
    )


class PayerKind(StrEnum):
    """Whose bank account a payment came from, as the bank reports it."""

    CORPORATE = "corporate"
    PERSONAL = "personal"


class PaymentReceived(Fact):
    """Money arrived on the account (a recharge): RN-5 enterprise verification by recharge
    is complete when a payment of the random amount arrives from the enterprise's own
    corporate account within its window. One event per payment; `payment_id` deduplicates."""

    event_type = "PaymentReceived"
    topic = Topic.BILLING_EVENTS

    payment_id: Reference = Field(
        description="Billing's reference of the payment, unique; a payment is used once.",
        examples=["PAY-20261123-000042"],
    )
    amount_fen: int = Field(
        strict=True,
        gt=0,
        le=10**15,
        description="Amount received, in fen (1/100 yuan), an integer.",
        examples=[37],
    )
    payer_kind: PayerKind = Field(
        description="corporate (a company's bank account, what RN-5 requires) or personal.",
        examples=["corporate"],
    )
    payer_name: Text = Field(
        description="Name of the paying bank account as the bank reports it: for a corporate "
        "account the enterprise's name, matched against the enterprise being verified.",
        examples=["Hangzhou Example Technology Co., Ltd."],
    )
    payer_account_masked: MaskedAccountNumber = Field(
        description="The paying account number, all but its last four digits masked "
        "(RN-17: never in clear).",
        examples=["************1234"],
    )
    received_at: AwareDatetime = Field(
        description="When the money arrived, with its time zone.",
        examples=["2026-11-23T15:00:00+08:00"],
    )
