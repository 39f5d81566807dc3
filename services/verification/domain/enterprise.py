"""RN-5..RN-8, RN-15: who may verify as an enterprise, how, and what completes it.

Pure: the service layer hands in the day (China time), the registry's answer and the
pending attempt, and gets back a checked `Enterprise`, a decision, or a named refusal.
Nothing is counted before `check_enterprise` passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from random import Random

from stdnum import exceptions as stdnum_errors
from stdnum.cn import uscc as uscc_code

from services.verification.domain.errors import (
    AmountInvalid,
    BankAccountInvalid,
    EnterpriseDeregistered,
    EnterpriseMismatch,
    EnterpriseNameInvalid,
    EnterpriseNotInRegistry,
    LegalPersonDocumentRequired,
    LegalPersonForeign,
    LicenceTooNew,
    NameInvalid,
    RemittanceAmountWrong,
    RemittanceTriesExhausted,
    UsccInvalid,
)
from services.verification.domain.masking import mask_document, mask_name
from services.verification.domain.personal import (
    Person,
    PersonalMethod,
    Region,
    check_person,
    ensure_enterprise_region,
)
from shared.events import RealNameMethod

MAX_ENTERPRISE_NAME_CHARS = 100
MIN_BANK_DIGITS, MAX_BANK_DIGITS = 8, 30


class EnterpriseMethod(StrEnum):
    """RN-5: the enterprise methods."""

    WECHAT_OFFICIAL_PLATFORM = RealNameMethod.WECHAT_OFFICIAL_PLATFORM.value
    LEGAL_PERSON_WECHAT_SCAN = RealNameMethod.LEGAL_PERSON_WECHAT_SCAN.value
    LEGAL_PERSON_FACE = RealNameMethod.LEGAL_PERSON_FACE.value
    RECHARGE = RealNameMethod.RECHARGE.value
    REMITTANCE = RealNameMethod.REMITTANCE.value

    @property
    def as_event(self) -> RealNameMethod:
        return RealNameMethod(self.value)

    @property
    def instant(self) -> bool:
        return self not in WAITING_METHODS

    @property
    def legal_person(self) -> bool:
        return self in LEGAL_PERSON_METHODS


LEGAL_PERSON_METHODS = {
    EnterpriseMethod.LEGAL_PERSON_WECHAT_SCAN: PersonalMethod.WECHAT_SCAN,
    EnterpriseMethod.LEGAL_PERSON_FACE: PersonalMethod.FACE,
}
WAITING_METHODS = frozenset({EnterpriseMethod.RECHARGE, EnterpriseMethod.REMITTANCE})


class LegalPersonRegion(StrEnum):
    """Where the legal person's identity document comes from."""

    MAINLAND = "mainland"
    HONG_KONG = "hong_kong"
    MACAO = "macao"
    TAIWAN = "taiwan"
    FOREIGN = "foreign"  # RN-6: no legal-person method


@dataclass(frozen=True)
class LegalPerson:
    name: str  # sensitive: sealed when checked, masked everywhere else
    region: LegalPersonRegion
    checked: Person | None = None  # the document a legal-person method checks

    @property
    def name_masked(self) -> str:
        return mask_name(self.name)

    @property
    def document_masked(self) -> str | None:
        return mask_document(self.checked.document_number) if self.checked else None


@dataclass(frozen=True)
class Enterprise:
    """A checked submission: safe to look up, count and send to a provider."""

    method: EnterpriseMethod
    name: str
    uscc: str
    legal_person: LegalPerson

    @property
    def identity_key(self) -> str:
        """RN-7: what identifies the enterprise across accounts: its code (the registry
        ties the name to it; a renamed enterprise keeps its code and its count)."""
        return f"uscc:{self.uscc}"


@dataclass(frozen=True)
class RegistryRecord:
    """What the enterprise registry says about a code."""

    uscc: str
    name: str
    deregistered: bool = False


_FULL_WIDTH = str.maketrans({"（": "(", "）": ")", "\u3000": " "})


def normalise_name(name: str) -> str:
    """How enterprise names are compared: full-width brackets and spaces as ASCII, runs of
    spaces as one, case folded (registry names mix 有限公司 and Co., Ltd.)."""
    return " ".join(name.translate(_FULL_WIDTH).split()).casefold()


def check_uscc(code: str) -> str:
    """RN-8: GB 32100 with python-stdnum (18 characters, registration department, checksum)."""
    try:
        return str(uscc_code.validate(code))
    except stdnum_errors.InvalidLength:
        raise UsccInvalid("length") from None
    except stdnum_errors.InvalidChecksum:
        raise UsccInvalid("checksum") from None
    except stdnum_errors.ValidationError:
        raise UsccInvalid("format") from None


def check_enterprise(
    method: EnterpriseMethod,
    region: Region,
    name: str,
    uscc: str,
    legal_person_name: str,
    legal_person_region: LegalPersonRegion,
    legal_person_document: str | None,
    *,
    today: date,
    minimum_age: int,
    international_site: str,
) -> Enterprise:
    """RN-4 and RN-6 first (who may verify here, and how), then the name, the code (RN-8)
    and, for the legal-person methods, the legal person's document."""
    ensure_enterprise_region(region, international_site=international_site)
    personal_method = LEGAL_PERSON_METHODS.get(method)
    if personal_method is not None and legal_person_region is LegalPersonRegion.FOREIGN:
        raise LegalPersonForeign(
            [m.value for m in EnterpriseMethod if m not in LEGAL_PERSON_METHODS]
        )
    clean_name = " ".join(name.split())
    if (
        not clean_name
        or len(clean_name) > MAX_ENTERPRISE_NAME_CHARS
        or not clean_name.isprintable()
    ):
        raise EnterpriseNameInvalid("Give the enterprise's name as on its business licence.")
    code = check_uscc(uscc)
    person_name = " ".join(legal_person_name.split())
    if not person_name or not person_name.isprintable():
        raise NameInvalid("Give the legal person's name as on the business licence.")
    checked = None
    if personal_method is not None:
        if not legal_person_document:
            raise LegalPersonDocumentRequired(
                "The legal-person methods check the legal person's identity document: give "
                "its number."
            )
        checked = check_person(
            personal_method,
            Region(legal_person_region.value),
            person_name,
            legal_person_document,
            today=today,
            minimum_age=minimum_age,
            international_site=international_site,
        )
    return Enterprise(
        method, clean_name, code, LegalPerson(person_name, legal_person_region, checked)
    )


def working_days_after(day: date, count: int) -> date:
    """The day `count` working days (Monday to Friday) after `day`."""
    current = day
    while count > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            count -= 1
    return current


def judge_registry(
    record: RegistryRecord | None,
    enterprise: Enterprise,
    *,
    licence_issued_on: date | None,
    today: date,
    delay_working_days: int,
) -> None:
    """RN-8, RN-15: the registry must know the code under the submitted name. A code it
    does not know is LICENCE_TOO_NEW when the licence is younger than the registry's delay,
    else a wrong code (correct it and submit again)."""
    if record is None:
        if licence_issued_on is not None:
            retry_from = working_days_after(licence_issued_on, delay_working_days)
            if today < retry_from:
                raise LicenceTooNew(retry_from.isoformat())
        raise EnterpriseNotInRegistry(
            "The registry has no enterprise with this Unified Social Credit Code: check the "
            "code and submit again. A licence issued in the last days may not be there yet: "
            "give its issue date (licence_issued_on)."
        )
    if record.deregistered:
        raise EnterpriseDeregistered("The registry says this enterprise is deregistered.")
    if normalise_name(record.name) != normalise_name(enterprise.name):
        raise EnterpriseMismatch(
            "The registry knows this code under another name: correct the name or the code "
            "and submit again.",
            details={"field": "name_or_uscc"},
        )


# --- bank accounts and amounts -------------------------------------------------------------

_BANK_SEPARATORS = re.compile(r"[\s-]")


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    number: str  # sensitive (RN-17): sealed at rest, masked everywhere else, never logged

    @property
    def masked(self) -> str:
        """All but the last four digits hidden: ************1234."""
        return "*" * (len(self.number) - 4) + self.number[-4:]

    def __repr__(self) -> str:
        return f"BankAccount(bank_name={self.bank_name!r}, number={self.masked!r})"


def check_bank_account(bank_name: str, number: str) -> BankAccount:
    clean = _BANK_SEPARATORS.sub("", number)
    if not (
        clean.isascii() and clean.isdigit() and MIN_BANK_DIGITS <= len(clean) <= MAX_BANK_DIGITS
    ):
        raise BankAccountInvalid(
            f"A corporate bank account number is {MIN_BANK_DIGITS} to {MAX_BANK_DIGITS} digits."
        )
    bank = " ".join(bank_name.split())
    if not bank or not bank.isprintable():
        raise BankAccountInvalid("Name the bank (and branch) that keeps the account.")
    return BankAccount(bank, clean)


def random_amount_fen(rng: Random) -> int:
    """RN-5: a random amount under 1 yuan, in fen: 0.01 to 0.99 yuan."""
    return rng.randint(1, 99)


def parse_amount(text: str) -> int:
    """What the user typed ("0.37", "0.3", ".37") in fen; AMOUNT_INVALID otherwise."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise AmountInvalid("Give the amount in yuan, e.g. 0.37.") from None
    fen = value * 100
    if not value.is_finite() or fen != fen.to_integral_value() or not 0 < fen < 100:
        raise AmountInvalid("Give the amount in yuan, e.g. 0.37: under 1 yuan, two decimals.")
    return int(fen)


def format_fen(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


# --- pending attempts ----------------------------------------------------------------------


class AttemptState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    EXPIRED = "expired"  # the 7-day window closed (its timer)
    EXHAUSTED = "exhausted"  # RN-5: the last remittance try was wrong
    CANCELLED = "cancelled"  # the user gave up (to correct the data, RN-8)


@dataclass(frozen=True)
class Attempt:
    """A recharge or remittance waiting for money or for the amount."""

    id: int
    account_id: str
    method: EnterpriseMethod
    state: AttemptState
    name: str
    uscc: str
    legal_person_name_masked: str
    legal_person_region: str
    amount_fen: int
    tries_left: int
    bank_name: str | None
    bank_account_masked: str | None
    claim_id: int
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AmountRight:
    pass


@dataclass(frozen=True)
class AmountWrong:
    tries_left: int


def enter_amount(attempt: Attempt, entered_fen: int) -> AmountRight | AmountWrong:
    """RN-5: the amount entered against the amount sent; a wrong one costs a try."""
    if entered_fen == attempt.amount_fen:
        return AmountRight()
    return AmountWrong(max(0, attempt.tries_left - 1))


def wrong_amount(outcome: AmountWrong) -> RemittanceAmountWrong | RemittanceTriesExhausted:
    """The refusal of a wrong amount: tries left, or none (submit the bank account again)."""
    if outcome.tries_left == 0:
        return RemittanceTriesExhausted(
            "That is not the amount we sent, and it was the last try: the remittance has "
            "ended. Submit the bank account again for a new one."
        )
    return RemittanceAmountWrong(outcome.tries_left)


@dataclass(frozen=True)
class Payment:
    """What RN-5's recharge is matched on (billing's PaymentReceived)."""

    amount_fen: int
    corporate: bool
    payer_name: str
    received_at: datetime


def payment_completes(attempt: Attempt, payment: Payment) -> bool:
    """RN-5: the random amount, from the enterprise's own corporate account, within the
    window."""
    return (
        attempt.state is AttemptState.OPEN
        and attempt.method is EnterpriseMethod.RECHARGE
        and payment.corporate
        and payment.amount_fen == attempt.amount_fen
        and normalise_name(payment.payer_name) == normalise_name(attempt.name)
        and attempt.created_at <= payment.received_at < attempt.expires_at
    )
