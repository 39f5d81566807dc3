"""RN-5..RN-8, RN-15: an account verifies as an enterprise.

1. The submission is checked (pure domain: region, RN-6, name, code, legal person, bank
   account) before anything is counted or stored.
2. The registry is asked (outside any transaction): the code must be registered under the
   name (RN-8), or the licence is too new to be there (RN-15).
3. One transaction checks the account (ACC-3) and its status (RN-1) and reserves a place in
   the enterprise's quota (RN-7, atomic: the key's row lock), then commits.
4. Then, by method:
   - instant (WeChat official platform, legal-person WeChat scan or face): the gateway is
     asked; a pass holds the place and records the verification (RN-16);
   - recharge: the place is held, a random amount under 1 yuan is chosen and stored, the
     account goes `pending` and a timer ends the window (RECHARGE_WINDOW_S); the matching
     PaymentReceived from billing completes it (`payment_received`);
   - remittance: the bank sends a random 0.01-0.99 yuan, then the place is held, the account
     goes `pending`, RemittanceSent tells the owner, and a timer ends the window
     (REMITTANCE_WINDOW_S from the bank's acceptance); `enter_remittance_amount` completes
     it, REMITTANCE_MAX_TRIES wrong amounts end it.
   Any refusal after 3 gives the place back.

A window that closes (`window_closed`, the timer's effect), the last wrong try, and the
user's cancel all end the attempt the same way (`_end_unproven`): attempt ended, timer
cancelled, place released, status back to `unverified` (RealNameChanged, reason abandoned).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from services.verification.adapters.enterprise_store import (
    AttemptAlreadyOpen,
    Attempts,
    EnterpriseIdentity,
    Enterprises,
    NewAttempt,
)
from services.verification.adapters.enterprises import (
    BankRefusedTransfer,
    EnterpriseCheck,
    Sent,
    Transfer,
)
from services.verification.adapters.persons import ProviderDown
from services.verification.adapters.quota import (
    AccountAlreadyClaims,
    QuotaClaims,
    QuotaFull,
    QuotaKind,
)
from services.verification.adapters.repository import Accounts, RealNames
from services.verification.adapters.sensitive import Purpose
from services.verification.adapters.timers import Timers
from services.verification.domain import changes, status
from services.verification.domain.changes import Target
from services.verification.domain.enterprise import (
    AmountRight,
    Attempt,
    AttemptState,
    BankAccount,
    Enterprise,
    EnterpriseMethod,
    LegalPersonRegion,
    Payment,
    RegistryRecord,
    check_bank_account,
    check_enterprise,
    enter_amount,
    judge_registry,
    parse_amount,
    payment_completes,
    random_amount_fen,
    wrong_amount,
)
from services.verification.domain.errors import (
    AccountUnknown,
    BankRefused,
    ChangeNeedsReview,
    ChangeNotInstant,
    EnterpriseNotConfirmed,
    EnterpriseQuotaExceeded,
    NothingPending,
    ProviderTimeout,
    ProviderUnavailable,
    RemittanceLimitReached,
    SubmissionExpired,
    VerificationInProgress,
    VerificationPending,
)
from services.verification.domain.personal import Region, china_day
from services.verification.domain.status import RealName
from services.verification.domain.timers import Timer, TimerKind
from services.verification.service_layer import events
from services.verification.service_layer.accounts import active_account
from services.verification.service_layer.changes import ensure_may_verify
from services.verification.service_layer.context import VerificationContext
from services.verification.service_layer.status import record
from shared.errors import AppError
from shared.events import (
    AccountStatus,
    Envelope,
    PayerKind,
    PaymentReceived,
    RealNameStatus,
    RealNameSubject,
    RemittanceSent,
)
from shared.logging import get_logger
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)
T = TypeVar("T")

REMITTANCE_PERIOD = timedelta(days=1)
WINDOW_TIMER = {
    EnterpriseMethod.RECHARGE: TimerKind.RECHARGE_WINDOW,
    EnterpriseMethod.REMITTANCE: TimerKind.REMITTANCE_WINDOW,
}


@dataclass(frozen=True)
class EnterpriseSubmission:
    """What the user typed, unchecked."""

    method: EnterpriseMethod
    region: Region
    name: str
    uscc: str
    legal_person_name: str
    legal_person_region: LegalPersonRegion
    legal_person_document: str | None = None
    licence_issued_on: date | None = None
    bank_name: str | None = None
    bank_account_number: str | None = None

    def __repr__(self) -> str:  # never a document or a bank account (RN-17)
        return f"EnterpriseSubmission(method={self.method!r}, uscc={self.uscc!r})"


async def submit_enterprise(
    ctx: VerificationContext, account_id: str, submission: EnterpriseSubmission
) -> None:
    """Verified (instant methods) or pending (recharge, remittance), or a named refusal;
    nothing counted on refusal."""
    s = ctx.settings
    today = china_day(ctx.now())
    enterprise = check_enterprise(
        submission.method,
        submission.region,
        submission.name,
        submission.uscc,
        submission.legal_person_name,
        submission.legal_person_region,
        submission.legal_person_document,
        today=today,
        minimum_age=s.minimum_age_years,
        international_site=s.international_site_url,
    )
    bank = None
    if enterprise.method is EnterpriseMethod.REMITTANCE:
        bank = check_bank_account(submission.bank_name or "", submission.bank_account_number or "")
    record_ = await _outside(ctx, ctx.registry.lookup(enterprise.uscc), account_id, "registry")
    judge_registry(
        record_,
        enterprise,
        licence_issued_on=submission.licence_issued_on,
        today=today,
        delay_working_days=s.licence_registry_delay_working_days,
    )
    fingerprint = ctx.sensitive.fingerprint(Purpose.ENTERPRISE, enterprise.identity_key)
    claim_id = await _reserve(ctx, account_id, fingerprint, enterprise.method)
    try:
        if enterprise.method.instant:
            await _ask_checks(ctx, account_id, enterprise)
            await _complete_instant(ctx, account_id, enterprise, claim_id)
        elif enterprise.method is EnterpriseMethod.RECHARGE:
            await _start_recharge(ctx, account_id, enterprise, claim_id)
        else:
            assert bank is not None
            await _start_remittance(ctx, account_id, enterprise, bank, claim_id)
    except BaseException:
        await _release(ctx, claim_id)
        raise


async def _outside(ctx: VerificationContext, call: Awaitable[T], account_id: str, party: str) -> T:
    """A call to the enterprise gateway, bounded by ENTERPRISE_GATEWAY_TIMEOUT_S."""
    try:
        async with asyncio.timeout(ctx.settings.enterprise_gateway_timeout_s):
            return await call
    except TimeoutError:
        log.warning("enterprise_gateway_timed_out", account_id=account_id, party=party)
        raise ProviderTimeout("The check did not answer in time; nothing was counted.") from None
    except ProviderDown:
        log.warning("enterprise_gateway_down", account_id=account_id, party=party)
        raise ProviderUnavailable(
            "The check cannot be done right now; try again shortly."
        ) from None


async def ask_registry(
    ctx: VerificationContext, uscc: str, account_id: str
) -> RegistryRecord | None:
    """The registry's record of the code (RN-8), bounded like every gateway call."""
    return await _outside(ctx, ctx.registry.lookup(uscc), account_id, "registry")


async def _reserve(
    ctx: VerificationContext, account_id: str, fingerprint: str, method: EnterpriseMethod
) -> int:
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        await active_account(uow, account_id)
        current = await RealNames(uow.conn).get(account_id)
        if current is None:
            raise AccountUnknown("This account is not known here yet; try again shortly.")
        if changes.is_change(current) and current.subject is RealNameSubject.ENTERPRISE:
            raise ChangeNeedsReview(
                "The account is verified as an enterprise: submit a reviewed change "
                "(POST /v1/real-name/changes) instead."
            )
        target = Target(RealNameSubject.ENTERPRISE)
        if await ensure_may_verify(ctx, uow, current, target) and not method.instant:
            raise ChangeNotInstant(
                "A verified person changes to an enterprise by WeChat official platform, "
                "legal-person WeChat scan or legal-person face recognition."
            )
        if method is EnterpriseMethod.REMITTANCE:
            # Counted before the place is taken: the account's one live claim (below) makes
            # its submissions one at a time, so the count cannot be raced past.
            await _ensure_remittance_allowed(ctx, uow, account_id, now)
        try:
            return await QuotaClaims(uow.conn).reserve(
                QuotaKind.ENTERPRISE,
                fingerprint,
                account_id,
                limit=ctx.settings.enterprise_max_accounts,
                now=now,
                lease_until=now + timedelta(seconds=ctx.settings.quota_lease_s),
            )
        except QuotaFull as full:
            raise EnterpriseQuotaExceeded(full.limit) from None
        except AccountAlreadyClaims:
            raise VerificationInProgress(
                "Another enterprise submission of this account is being checked."
            ) from None


async def _ensure_remittance_allowed(
    ctx: VerificationContext, uow: UnitOfWork, account_id: str, now: datetime
) -> None:
    """RN-5: each remittance sends money; REMITTANCES_PER_DAY per account in 24 hours."""
    limit = ctx.settings.remittances_per_day
    started = await Attempts(uow.conn).started_since(
        account_id, EnterpriseMethod.REMITTANCE, now - REMITTANCE_PERIOD
    )
    if len(started) >= limit:
        retry_after = started[len(started) - limit] + REMITTANCE_PERIOD - now
        raise RemittanceLimitReached(limit, max(1, int(retry_after.total_seconds()) + 1))


async def _release(ctx: VerificationContext, claim_id: int) -> None:
    """Give the place back; if the database is down the lease frees it later."""
    try:
        async with ctx.runtime.uow() as uow:
            await QuotaClaims(uow.conn).release(claim_id, now=ctx.now())
    except Exception as error:  # the original refusal matters more than this
        log.warning("quota_release_failed", claim_id=claim_id, error=type(error).__name__)


# --- instant methods -----------------------------------------------------------------------


async def _ask_checks(ctx: VerificationContext, account_id: str, enterprise: Enterprise) -> None:
    checked = enterprise.legal_person.checked
    request = EnterpriseCheck(
        account_id=account_id,
        method=enterprise.method.value,
        name=enterprise.name,
        uscc=enterprise.uscc,
        legal_person_name=enterprise.legal_person.name,
        legal_person_document_kind=checked.document_kind.value if checked else None,
        legal_person_document_number=checked.document_number if checked else None,
    )
    result = await _outside(ctx, ctx.enterprise_checks.check(request), account_id, "checks")
    if not result.passed:
        log.info("enterprise_not_confirmed", account_id=account_id, method=enterprise.method.value)
        raise EnterpriseNotConfirmed(result.reason or "not_confirmed")


async def _complete_instant(
    ctx: VerificationContext, account_id: str, enterprise: Enterprise, claim_id: int
) -> None:
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        current = await RealNames(uow.conn).get(account_id, for_update=True)
        assert current is not None, "reserved above"
        claims = QuotaClaims(uow.conn)
        # The gate again, under the row lock (another submission may have won meanwhile).
        target = Target(RealNameSubject.ENTERPRISE)
        if await ensure_may_verify(ctx, uow, current, target):  # the person no longer counts
            change = status.change(
                current, RealNameSubject.ENTERPRISE, enterprise.method.as_event, at=now
            )
            await claims.release_held(QuotaKind.PERSON, account_id, now=now)
        else:
            change = status.verify(
                current, RealNameSubject.ENTERPRISE, enterprise.method.as_event, at=now
            )
        if not await claims.hold(claim_id, now=now):
            raise SubmissionExpired("The submission took too long; submit it again.")
        lp = enterprise.legal_person
        sealed = None
        if lp.checked is not None:
            sealed = ctx.sensitive.seal(
                Purpose.LEGAL_PERSON,
                {"name": lp.name, "document_number": lp.checked.document_number},
                account_id=account_id,
            )
        identity = EnterpriseIdentity(
            account_id=account_id,
            name=enterprise.name,
            uscc=enterprise.uscc,
            legal_person_name_masked=lp.name_masked,
            legal_person_region=lp.region.value,
            legal_person_document_masked=lp.document_masked,
            sealed=sealed,
            method=enterprise.method.value,
            verified_at=now,
        )
        await _verified(uow, current, change, identity)


async def _verified(
    uow: UnitOfWork, current: RealName, change: status.Change, identity: EnterpriseIdentity
) -> None:
    await Enterprises(uow.conn).save(identity)
    await record(
        uow,
        current,
        change,
        details={
            "name": identity.name,
            "uscc": identity.uscc,
            "legal_person": identity.legal_person_name_masked,
        },
    )


# --- recharge and remittance ---------------------------------------------------------------


async def _start_recharge(
    ctx: VerificationContext, account_id: str, enterprise: Enterprise, claim_id: int
) -> None:
    now = ctx.now()
    expires_at = now + timedelta(seconds=ctx.settings.recharge_window_s)
    await _open_attempt(
        ctx, account_id, enterprise, claim_id, random_amount_fen(ctx.rng), now, expires_at
    )


async def _start_remittance(
    ctx: VerificationContext,
    account_id: str,
    enterprise: Enterprise,
    bank: BankAccount,
    claim_id: int,
) -> None:
    amount = random_amount_fen(ctx.rng)
    transfer = Transfer(
        key=f"verification-remittance-{claim_id}",
        account_id=account_id,
        account_name=enterprise.name,
        bank_name=bank.bank_name,
        account_number=bank.number,
        amount_fen=amount,
    )
    try:
        sent: Sent = await _outside(ctx, ctx.bank.send(transfer, now=ctx.now()), account_id, "bank")
    except BankRefusedTransfer:
        log.info("remittance_refused", account_id=account_id)
        raise BankRefused(
            "The bank did not accept a transfer to this account: check the number and that "
            "the account is the enterprise's; nothing was counted."
        ) from None
    expires_at = sent.at + timedelta(seconds=ctx.settings.remittance_window_s)
    await _open_attempt(
        ctx, account_id, enterprise, claim_id, amount, sent.at, expires_at, bank=bank
    )
    log.info("remittance_sent", account_id=account_id, reference=sent.reference)


async def _open_attempt(
    ctx: VerificationContext,
    account_id: str,
    enterprise: Enterprise,
    claim_id: int,
    amount_fen: int,
    started_at: datetime,
    expires_at: datetime,
    *,
    bank: BankAccount | None = None,
) -> None:
    now = ctx.now()
    method = enterprise.method
    async with ctx.runtime.uow() as uow:
        current = await RealNames(uow.conn).get(account_id, for_update=True)
        assert current is not None, "reserved above"
        change = status.submit(current, RealNameSubject.ENTERPRISE, method.as_event, at=now)
        if not await QuotaClaims(uow.conn).hold(claim_id, now=now):
            raise SubmissionExpired("The submission took too long; submit it again.")
        sealed = None
        if bank is not None:
            sealed = ctx.sensitive.seal(
                Purpose.BANK_ACCOUNT,
                {"bank_name": bank.bank_name, "number": bank.number},
                account_id=account_id,
            )
        try:
            attempt_id = await Attempts(uow.conn).open(
                NewAttempt(
                    account_id=account_id,
                    method=method,
                    name=enterprise.name,
                    uscc=enterprise.uscc,
                    legal_person_name_masked=enterprise.legal_person.name_masked,
                    legal_person_region=enterprise.legal_person.region.value,
                    amount_fen=amount_fen,
                    tries_left=ctx.settings.remittance_max_tries,
                    claim_id=claim_id,
                    created_at=started_at,
                    expires_at=expires_at,
                    bank_name=bank.bank_name if bank else None,
                    bank_account_masked=bank.masked if bank else None,
                    bank_sealed=sealed,
                )
            )
        except AttemptAlreadyOpen:
            raise VerificationPending("A verification of this account is pending.") from None
        await Timers(uow.conn).schedule(
            WINDOW_TIMER[method], account_id, str(attempt_id), due_at=expires_at, now=now
        )
        await record(
            uow,
            current,
            change,
            details={
                "name": enterprise.name,
                "uscc": enterprise.uscc,
                "expires_at": expires_at.isoformat(),
            },
        )
        if bank is not None:
            await events.emit(
                uow,
                account_id,
                RemittanceSent(
                    receiving_account_masked=bank.masked,
                    sent_at=started_at,
                    enter_by=expires_at,
                ),
            )


async def enter_remittance_amount(ctx: VerificationContext, account_id: str, amount: str) -> None:
    """RN-5: the amount the platform sent. Right: verified. Wrong: a try spent, and the
    last wrong try ends the remittance (the bank account must be submitted again)."""
    entered = parse_amount(amount)  # AMOUNT_INVALID costs no try
    now = ctx.now()
    refusal: AppError | None = None
    async with ctx.runtime.uow() as uow:
        await active_account(uow, account_id)
        attempts = Attempts(uow.conn)
        attempt = await attempts.open_of(account_id, for_update=True)
        if attempt is None or attempt.method is not EnterpriseMethod.REMITTANCE:
            raise NothingPending(
                "No remittance is waiting for its amount: submit the bank account first.",
                details={"pending": attempt.method.value if attempt else None},
            )
        if now >= attempt.expires_at:  # the timer is about to end it: do it now
            await _end_unproven(uow, attempt, AttemptState.EXPIRED, now)
            refusal = NothingPending(
                "The 7 days to enter the amount are over: submit the bank account again.",
                details={"pending": None},
            )
        else:
            outcome = enter_amount(attempt, entered)
            if isinstance(outcome, AmountRight):
                await _complete_attempt(uow, attempt, now)
                return
            if outcome.tries_left == 0:
                await _end_unproven(uow, attempt, AttemptState.EXHAUSTED, now)
            else:
                await attempts.spend_try(attempt.id, outcome.tries_left)
            log.info(
                "remittance_amount_wrong", account_id=account_id, tries_left=outcome.tries_left
            )
            refusal = wrong_amount(outcome)
    # Committed above (the spent try, or the end): the refusal goes out after.
    assert refusal is not None
    raise refusal


async def cancel_pending(ctx: VerificationContext, account_id: str) -> None:
    """The user ends a waiting recharge or remittance (to correct the name, the code or
    the bank account, RN-8): the place is given back, the status is `unverified` again."""
    async with ctx.runtime.uow() as uow:
        await active_account(uow, account_id)
        attempt = await Attempts(uow.conn).open_of(account_id, for_update=True)
        if attempt is None:
            raise NothingPending("No recharge or remittance is waiting.", details={"pending": None})
        await _end_unproven(uow, attempt, AttemptState.CANCELLED, ctx.now())


async def payment_received(uow: UnitOfWork, event: Envelope[PaymentReceived]) -> None:
    """RN-5: billing saw money arrive on the account; if it is the random amount from the
    enterprise's corporate account within the window, the recharge completes. Any other
    payment is just a payment, and a cancelled account verifies nothing (ACC-3)."""
    p = event.payload
    attempt = await Attempts(uow.conn).open_of(event.account_id, for_update=True)
    payment = Payment(
        amount_fen=p.amount_fen,
        corporate=p.payer_kind is PayerKind.CORPORATE,
        payer_name=p.payer_name,
        received_at=p.received_at,
    )
    account = await Accounts(uow.conn).get(event.account_id)
    cancelled = account is None or account.status is AccountStatus.CANCELLED
    if attempt is None or cancelled or not payment_completes(attempt, payment):
        log.info(
            "payment_not_a_recharge",
            account_id=event.account_id,
            payment_id=p.payment_id,
            pending=attempt.method.value if attempt else None,
        )
        return
    await _complete_attempt(uow, attempt, uow.now(), payment_id=p.payment_id)


async def window_closed(ctx: VerificationContext, uow: UnitOfWork, timer: Timer) -> None:
    """The 7 days of a recharge or remittance are over (its timer's effect)."""
    attempt = await Attempts(uow.conn).get(int(timer.ref), for_update=True)
    if attempt is None or attempt.state is not AttemptState.OPEN:
        return
    await _end_unproven(uow, attempt, AttemptState.EXPIRED, uow.now())


async def _complete_attempt(
    uow: UnitOfWork, attempt: Attempt, now: datetime, *, payment_id: str | None = None
) -> None:
    await Attempts(uow.conn).end(attempt.id, AttemptState.COMPLETED, now=now, payment_id=payment_id)
    await Timers(uow.conn).cancel(WINDOW_TIMER[attempt.method], str(attempt.id), now=now)
    current = await RealNames(uow.conn).get(attempt.account_id, for_update=True)
    assert current is not None
    change = status.verify(current, RealNameSubject.ENTERPRISE, attempt.method.as_event, at=now)
    identity = EnterpriseIdentity(
        account_id=attempt.account_id,
        name=attempt.name,
        uscc=attempt.uscc,
        legal_person_name_masked=attempt.legal_person_name_masked,
        legal_person_region=attempt.legal_person_region,
        legal_person_document_masked=None,
        sealed=None,
        method=attempt.method.value,
        verified_at=now,
    )
    await _verified(uow, current, change, identity)


async def _end_unproven(
    uow: UnitOfWork, attempt: Attempt, state: AttemptState, now: datetime
) -> None:
    """The attempt ends without proof: timer cancelled, place released, status back."""
    await Attempts(uow.conn).end(attempt.id, state, now=now)
    await Timers(uow.conn).cancel(WINDOW_TIMER[attempt.method], str(attempt.id), now=now)
    await QuotaClaims(uow.conn).release_account(QuotaKind.ENTERPRISE, attempt.account_id, now=now)
    current = await RealNames(uow.conn).get(attempt.account_id, for_update=True)
    if current is not None and current.status is RealNameStatus.PENDING:
        await record(uow, current, status.abandon(current, at=now), details={"ended": state.value})
    log.info(
        "enterprise_attempt_ended",
        account_id=attempt.account_id,
        method=attempt.method.value,
        state=state.value,
    )
