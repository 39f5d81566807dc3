"""RN-2, RN-3, RN-4: who may verify as a person, with which method and which document.

Pure: the service layer hands in the day of the check (China time) and gets back a checked
`Person`, or a named refusal. Nothing is counted before this passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

from services.verification.domain.errors import (
    IdNumberInvalid,
    InternationalSiteOnly,
    MethodNotAllowed,
    NameInvalid,
    PermitNumberInvalid,
    Underage,
)
from services.verification.domain.masking import mask_document, mask_name
from shared.events import DocumentRegion, RealNameMethod

# China has one time zone and no daylight saving: "the day of the check" is a day there.
CHINA = timezone(timedelta(hours=8), "CST")


class PersonalMethod(StrEnum):
    """RN-2: the instant personal methods."""

    WECHAT_SCAN = RealNameMethod.WECHAT_SCAN.value
    QQ_SCAN = RealNameMethod.QQ_SCAN.value
    FACE = RealNameMethod.FACE.value

    @property
    def as_event(self) -> RealNameMethod:
        return RealNameMethod(self.value)


class Region(StrEnum):
    """Where the person's identity document comes from, as the person says."""

    MAINLAND = "mainland"
    HONG_KONG = "hong_kong"
    MACAO = "macao"
    TAIWAN = "taiwan"
    INTERNATIONAL = "international"


class DocumentKind(StrEnum):
    RESIDENT_ID = "resident_id"  # GB 11643 resident identity card
    HK_MACAO_PERMIT = "hk_macao_permit"  # Mainland Travel Permit for HK and Macao Residents
    TAIWAN_PERMIT = "taiwan_permit"  # Mainland Travel Permit for Taiwan Residents


DOCUMENT_OF = {
    Region.MAINLAND: DocumentKind.RESIDENT_ID,
    Region.HONG_KONG: DocumentKind.HK_MACAO_PERMIT,
    Region.MACAO: DocumentKind.HK_MACAO_PERMIT,
    Region.TAIWAN: DocumentKind.TAIWAN_PERMIT,
}

# RN-4: travel permit numbers (README, "Travel permits"). Hong Kong and Macao: the card
# issued since 2013 is H (Hong Kong) or M (Macao) and 8 digits; the booklet before it had
# 2 more digits (the issue count). Taiwan: the card issued since 2015 is 8 digits; the
# booklet before it 10 digits, sometimes with a letter (its issue) in brackets, dropped here.
PERMIT_PATTERNS = {
    Region.HONG_KONG: re.compile(r"H[0-9]{8}(?:[0-9]{2})?"),
    Region.MACAO: re.compile(r"M[0-9]{8}(?:[0-9]{2})?"),
    Region.TAIWAN: re.compile(r"[0-9]{8}(?:[0-9]{2}[A-Z]?)?"),
}
PERMIT_METHODS = (PersonalMethod.WECHAT_SCAN,)
MAX_NAME_CHARS = 64

_SEPARATORS = re.compile(r"[\s()\-]")


@dataclass(frozen=True)
class Person:
    """A checked submission: safe to count against a quota and to send to the provider."""

    method: PersonalMethod
    region: Region
    document_kind: DocumentKind
    document_number: str  # normalised; sensitive (RN-17): sealed at rest, never logged
    name: str  # sensitive too: sealed at rest, masked everywhere else

    @property
    def event_region(self) -> DocumentRegion:
        return DocumentRegion(self.region.value)

    @property
    def identity_key(self) -> str:
        """What identifies the person across accounts (RN-3's quota): the document."""
        return f"{self.document_kind}:{self.document_number}"

    @property
    def name_masked(self) -> str:
        return mask_name(self.name)

    @property
    def document_masked(self) -> str:
        return mask_document(self.document_number)


def china_day(at: datetime) -> date:
    """The calendar day in China at that instant."""
    return at.astimezone(CHINA).date()


def age_on(birth: date, day: date) -> int:
    """Whole years; someone born on 29 February is a year older on 1 March of common years."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def check_person(
    method: PersonalMethod,
    region: Region,
    name: str,
    document_number: str,
    *,
    today: date,
    minimum_age: int,
    international_site: str,
) -> Person:
    """RN-4 first (who may verify here, and how), then the name and the document (RN-3)."""
    if region is Region.INTERNATIONAL:
        raise InternationalSiteOnly(international_site, who="international users")
    if region is not Region.MAINLAND and method not in PERMIT_METHODS:
        raise MethodNotAllowed(region.value, [m.value for m in PERMIT_METHODS])
    clean_name = " ".join(name.split())
    if not clean_name or len(clean_name) > MAX_NAME_CHARS or not clean_name.isprintable():
        raise NameInvalid("Give the name as it is on the identity document.")
    number = _SEPARATORS.sub("", document_number).upper()
    kind = DOCUMENT_OF[region]
    if kind is DocumentKind.RESIDENT_ID:
        number = check_resident_id(number, today=today, minimum_age=minimum_age)
    elif not PERMIT_PATTERNS[region].fullmatch(number):
        raise PermitNumberInvalid(kind.value)
    elif region is Region.TAIWAN:
        number = number[:10]  # the booklet's issue letter does not tell people apart
    return Person(method, region, kind, number, clean_name)


def check_resident_id(number: str, *, today: date, minimum_age: int) -> str:
    """RN-3: GB 11643 (python-stdnum: length, digits, checksum, birth date, region code),
    and the holder `minimum_age` or older on `today`."""
    try:
        number = ric.validate(number)
    except stdnum_errors.InvalidLength:
        raise IdNumberInvalid("length") from None
    except stdnum_errors.InvalidFormat:
        raise IdNumberInvalid("format") from None
    except stdnum_errors.InvalidChecksum:
        raise IdNumberInvalid("checksum") from None
    except stdnum_errors.ValidationError:
        raise IdNumberInvalid("birth_date_or_region") from None
    birth = ric.get_birth_date(number)
    if birth > today:
        raise IdNumberInvalid("birth_date_or_region")
    if age_on(birth, today) < minimum_age:
        raise Underage(minimum_age)
    return number


def ensure_enterprise_region(region: Region, *, international_site: str) -> None:
    """RN-4: enterprises of Hong Kong, Macao and Taiwan residents, and international ones,
    verify on the international site (for the enterprise methods, RN-5)."""
    if region is not Region.MAINLAND:
        raise InternationalSiteOnly(
            international_site,
            who="enterprises of Hong Kong, Macao, Taiwan and international users",
        )
