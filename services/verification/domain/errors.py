"""Named refusals of the verification service; each has a stable code and HTTP status.

The README's "Error codes" table lists every code with the rule it enforces."""

from __future__ import annotations

from datetime import datetime

from shared.errors import AppError, Conflict, NotFound, ServiceUnavailable


class AccountUnknown(NotFound):
    """The account is not (yet) in verification's projection of identity's accounts."""

    code = "ACCOUNT_UNKNOWN"


class AccountCancelled(AppError):
    """ACC-3: a cancelled account can do nothing."""

    status_code = 403
    code = "ACCOUNT_CANCELLED"


class AlreadyVerified(Conflict):
    """RN-1, RN-9: a verified account changes its real name through a change, not a new
    verification."""

    code = "ALREADY_VERIFIED"


class VerificationPending(Conflict):
    """RN-1: a verification of the account is pending (e.g. an enterprise recharge)."""

    code = "VERIFICATION_PENDING"


class VerificationInProgress(Conflict):
    """Another submission of this account is being checked right now."""

    code = "VERIFICATION_IN_PROGRESS"


class NameInvalid(AppError):
    code = "NAME_INVALID"


class IdNumberInvalid(AppError):
    """RN-3: not a valid resident ID number (GB 11643: length, digits, checksum, birth date,
    region code); details.problem says which."""

    code = "ID_NUMBER_INVALID"

    def __init__(self, problem: str) -> None:
        super().__init__(f"The ID number is not valid ({problem}).", details={"problem": problem})


class Underage(AppError):
    """RN-3: the person must be this old on the day of the check."""

    code = "UNDERAGE"

    def __init__(self, minimum_age: int) -> None:
        super().__init__(
            f"Real-name verification needs a person aged {minimum_age} or older.",
            details={"minimum_age": minimum_age},
        )


class PermitNumberInvalid(AppError):
    """RN-4: not a travel permit number of the region (README: accepted formats)."""

    code = "PERMIT_NUMBER_INVALID"

    def __init__(self, document_kind: str) -> None:
        super().__init__(
            f"The number is not a valid {document_kind.replace('_', ' ')} number.",
            details={"document_kind": document_kind},
        )


class MethodNotAllowed(AppError):
    """RN-4: Hong Kong, Macao and Taiwan residents verify by WeChat scan only."""

    code = "METHOD_NOT_ALLOWED"

    def __init__(self, region: str, allowed: list[str]) -> None:
        super().__init__(
            f"Residents of this region verify with: {', '.join(allowed)}.",
            details={"region": region, "allowed_methods": allowed},
        )


class InternationalSiteOnly(AppError):
    """RN-4: international users, and enterprises of Hong Kong, Macao and Taiwan residents,
    verify on the international site."""

    status_code = 403
    code = "INTERNATIONAL_SITE_ONLY"

    def __init__(self, url: str, *, who: str) -> None:
        super().__init__(
            f"Real-name verification of {who} is done on the international site: {url}",
            details={"international_site": url},
        )


class IdentityQuotaExceeded(Conflict):
    """RN-3: one identity verifies at most IDENTITY_MAX_ACCOUNTS accounts."""

    code = "IDENTITY_QUOTA_EXCEEDED"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This identity already verifies {limit} accounts, the most it may.",
            details={"limit": limit},
        )


class PersonNotConfirmed(AppError):
    """RN-2: the provider (WeChat, QQ, face recognition) did not confirm the person."""

    code = "PERSON_NOT_CONFIRMED"

    def __init__(self, reason: str) -> None:
        super().__init__(
            "The provider did not confirm this person: check the name and number, and "
            "that the scan or face check was completed by the same person.",
            details={"reason": reason},
        )


class ProviderTimeout(AppError):
    """RN-2: the instant check did not answer in time; nothing was counted."""

    status_code = 504
    code = "PROVIDER_TIMEOUT"


class ProviderUnavailable(ServiceUnavailable):
    code = "PROVIDER_UNAVAILABLE"


class SubmissionExpired(Conflict):
    """The submission's place in the quota lapsed before the check came back; submit again."""

    code = "SUBMISSION_EXPIRED"


class FakeNotSelected(NotFound):
    code = "FAKE_PROVIDER_NOT_SELECTED"


# --- enterprises (RN-5..RN-8, RN-15) -------------------------------------------------------


class UsccInvalid(AppError):
    """RN-8: not a Unified Social Credit Code (GB 32100: 18 characters, checksum);
    details.problem says which. Nothing is stored: submit again with the corrected code."""

    code = "USCC_INVALID"

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"The Unified Social Credit Code is not valid ({problem}); correct it and submit "
            "again.",
            details={"problem": problem},
        )


class EnterpriseNameInvalid(AppError):
    code = "ENTERPRISE_NAME_INVALID"


class LegalPersonForeign(AppError):
    """RN-6: a foreign legal person cannot use the legal-person methods."""

    code = "LEGAL_PERSON_FOREIGN"

    def __init__(self, allowed: list[str]) -> None:
        super().__init__(
            "A foreign legal person cannot verify by legal-person WeChat scan or face "
            f"recognition; use one of: {', '.join(allowed)}.",
            details={"allowed_methods": allowed},
        )


class LegalPersonDocumentRequired(AppError):
    """RN-5: the legal-person methods check the legal person's document."""

    code = "LEGAL_PERSON_DOCUMENT_REQUIRED"


class LicenceTooNew(Conflict):
    """RN-15: the business licence is too new to be in the registry yet."""

    code = "LICENCE_TOO_NEW"

    def __init__(self, retry_from: str) -> None:
        super().__init__(
            "The enterprise is not in the registry yet: a business licence takes about 7 "
            f"working days to appear there. Try again from {retry_from}.",
            details={"retry_from": retry_from},
        )


class EnterpriseNotInRegistry(AppError):
    """RN-8: the registry has no enterprise with this code: the code is probably wrong."""

    status_code = 400
    code = "ENTERPRISE_NOT_IN_REGISTRY"


class EnterpriseMismatch(AppError):
    """RN-8: the registry knows the code under another name; correct one of them."""

    code = "ENTERPRISE_MISMATCH"


class EnterpriseDeregistered(AppError):
    """RN-13 at submission: the registry says the entity is deregistered."""

    status_code = 403
    code = "ENTERPRISE_DEREGISTERED"


class EnterpriseQuotaExceeded(Conflict):
    """RN-7: one enterprise verifies at most ENTERPRISE_MAX_ACCOUNTS accounts (or its
    operator-set limit)."""

    code = "ENTERPRISE_QUOTA_EXCEEDED"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This enterprise already verifies {limit} accounts, the most it may.",
            details={"limit": limit},
        )


class EnterpriseNotConfirmed(AppError):
    """RN-5: the WeChat official platform or the legal-person check said no."""

    code = "ENTERPRISE_NOT_CONFIRMED"

    def __init__(self, reason: str) -> None:
        super().__init__(
            "The check did not confirm the enterprise: check its name and code, and that "
            "the scan or face check was completed by the right person.",
            details={"reason": reason},
        )


class BankAccountInvalid(AppError):
    """RN-5: a corporate bank account number is 8 to 30 digits."""

    code = "BANK_ACCOUNT_INVALID"


class BankRefused(AppError):
    """RN-5: the bank did not accept the remittance (no such account, or not this
    enterprise's); nothing was counted."""

    code = "BANK_REFUSED"


class NothingPending(Conflict):
    """RN-5: no recharge or remittance of this kind is waiting."""

    code = "NOTHING_PENDING"


class AmountInvalid(AppError):
    """RN-5: an amount is yuan with at most two decimals, under 1 yuan (e.g. 0.37)."""

    code = "AMOUNT_INVALID"


class RemittanceAmountWrong(AppError):
    """RN-5: not the amount the platform sent; details.tries_left."""

    code = "REMITTANCE_AMOUNT_WRONG"

    def __init__(self, tries_left: int) -> None:
        super().__init__(
            f"That is not the amount we sent; {tries_left} try left.",
            details={"tries_left": tries_left},
        )


class RemittanceTriesExhausted(Conflict):
    """RN-5: the last try was wrong: the remittance ended; submit the bank account again."""

    code = "REMITTANCE_TRIES_EXHAUSTED"


class SubmissionsExhausted(AppError):
    """The account's real-name submissions of the day are spent (PERSON_SUBMISSIONS_PER_DAY):
    each one may cost a paid provider check, and names and numbers are not to be guessed."""

    status_code = 429
    code = "SUBMISSIONS_EXHAUSTED"

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"This account has made its {limit} real-name submissions for today; retry in "
            f"{retry_after_s} s.",
            details={"limit": limit, "retry_after_s": retry_after_s},
        )


class SubmissionsUncountable(ServiceUnavailable):
    """Redis is down: the day's submissions cannot be counted, so none goes through."""

    code = "SUBMISSIONS_UNAVAILABLE"


# --- changes (RN-9, RN-10) -----------------------------------------------------------------


class EnterpriseToPersonalRefused(AppError):
    """RN-9: an enterprise real name never changes to a personal one."""

    status_code = 403
    code = "ENTERPRISE_TO_PERSONAL_REFUSED"


class MainlandToOverseasRefused(AppError):
    """RN-9: a mainland person never changes to an overseas (HK, Macao, Taiwan) person."""

    status_code = 403
    code = "MAINLAND_TO_OVERSEAS_REFUSED"


class ChangeTooSoon(Conflict):
    """RN-9: a change other than personal to enterprise waits CHANGE_MIN_INTERVAL_S (30
    days) after the last authentication; details.allowed_from."""

    code = "CHANGE_TOO_SOON"

    def __init__(self, allowed_from: datetime) -> None:
        super().__init__(
            "The real name was authenticated too recently to change; try again from "
            f"{allowed_from.isoformat()}.",
            details={"allowed_from": allowed_from.isoformat()},
        )


class BillingStandingUnknown(Conflict):
    """RN-10, EXT: billing never reported on the account; unknown refuses a change."""

    code = "BILLING_STANDING_UNKNOWN"


class PaymentsOverdue(Conflict):
    """RN-10: billing reports overdue payments; no change until they are paid."""

    code = "PAYMENTS_OVERDUE"

    def __init__(self, overdue_fen: int, as_of: datetime) -> None:
        super().__init__(
            "The account has overdue payments; pay them before changing its real name.",
            details={"overdue_fen": overdue_fen, "as_of": as_of.isoformat()},
        )


class AdvancePaymentsOutstanding(Conflict):
    """RN-10: billing reports advance payments not yet recovered; no change until then."""

    code = "ADVANCE_PAYMENTS_OUTSTANDING"

    def __init__(self, advance_payment_fen: int, as_of: datetime) -> None:
        super().__init__(
            "The account has advance payments outstanding; settle them before changing its "
            "real name.",
            details={"advance_payment_fen": advance_payment_fen, "as_of": as_of.isoformat()},
        )


class ChangeNotInstant(Conflict):
    """RN-9: a verified person changes to an enterprise by an instant method (WeChat
    official platform, legal-person WeChat scan or face): recharge and remittance would
    leave the account pending, and a verified real name is never taken away meanwhile."""

    code = "CHANGE_METHOD_NOT_INSTANT"


class ChangeNeedsReview(Conflict):
    """RN-11: a verified enterprise changes its real name through a reviewed change
    (POST /v1/real-name/changes), not a new verification."""

    code = "ENTERPRISE_CHANGE_NEEDS_REVIEW"


class RemittanceLimitReached(AppError):
    """RN-5: each remittance costs the platform money; an account starts at most
    REMITTANCES_PER_DAY of them in 24 hours."""

    status_code = 429
    code = "REMITTANCE_LIMIT_REACHED"

    def __init__(self, limit: int, retry_after_s: int) -> None:
        super().__init__(
            f"This account started {limit} remittances in the last 24 hours, the most it may; "
            f"retry in {retry_after_s} s, or verify by another method.",
            details={"limit": limit, "retry_after_s": retry_after_s},
        )


# --- reviewed enterprise changes (RN-11) ---------------------------------------------------


class NotVerifiedAsEnterprise(Conflict):
    """RN-11: only an account verified as an enterprise submits an enterprise change."""

    code = "NOT_VERIFIED_AS_ENTERPRISE"


class ChangeKindMismatch(AppError):
    """RN-11: the data does not fit the kind (entity: another code; name: same code, new
    name; legal person: same code and name); details.problem."""

    code = "CHANGE_KIND_MISMATCH"


class ChangeAlreadyUnderReview(Conflict):
    """RN-11: the account has a change under review; withdraw it first."""

    code = "CHANGE_UNDER_REVIEW"


class ChangeRequestUnknown(NotFound):
    code = "CHANGE_REQUEST_UNKNOWN"


class ChangeNotUnderReview(Conflict):
    """RN-11: the change was decided or withdrawn already; details.state."""

    code = "CHANGE_NOT_UNDER_REVIEW"
