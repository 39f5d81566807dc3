"""RN-11: enterprise changes go to operator review.

1. Submit (a protected operation): the new data is checked like a verification's (RN-8 code,
   names, the legal person's document when given), the registry must know the code under
   the name (RN-8, RN-15), the kind must fit (entity: another code; name: the same code
   renamed; legal person: the same enterprise), and the RN-9 / RN-10 gate must pass
   (30 days after the last authentication, billing clear). The request waits
   `under_review`, with a timer at the end of the review period (CHANGE_REVIEW_WORKING_DAYS).
2. The applicant may withdraw it while it is under review.
3. An operator approves (the new data applies at once: enterprise_identities, a change
   `verified` to `verified` with RealNameChanged and RealNameVerified; an entity change
   moves the account's place to the new enterprise's quota, RN-7) or rejects it (the old
   data stays). Both are audited in operator_actions and published as
   RealNameChangeDecided (the applicant's notice), in the decision's transaction.
4. A request still under review when its period ends is escalated (flagged `overdue` for
   the operators, logged): the clock never decides a change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from services.verification.adapters.change_requests import (
    AlreadyUnderReview,
    ChangeRequest,
    ChangeRequests,
    NewChangeRequest,
)
from services.verification.adapters.enterprise_store import EnterpriseIdentity, Enterprises
from services.verification.adapters.quota import (
    AccountAlreadyClaims,
    QuotaClaims,
    QuotaFull,
    QuotaKind,
)
from services.verification.adapters.repository import RealNames
from services.verification.adapters.sensitive import Purpose
from services.verification.adapters.standings import BillingStandings
from services.verification.adapters.tables import operator_actions
from services.verification.adapters.timers import Timers
from services.verification.domain import changes, status
from services.verification.domain.change_requests import (
    ChangeKind,
    ChangeState,
    CurrentEnterprise,
    ensure_kind_fits,
    ensure_under_review,
    review_due,
)
from services.verification.domain.changes import Target
from services.verification.domain.enterprise import (
    EnterpriseMethod,
    LegalPersonRegion,
    check_enterprise,
    judge_registry,
)
from services.verification.domain.errors import (
    AccountUnknown,
    ChangeAlreadyUnderReview,
    ChangeRequestUnknown,
    EnterpriseQuotaExceeded,
    NotVerifiedAsEnterprise,
    VerificationInProgress,
)
from services.verification.domain.personal import Region, china_day
from services.verification.domain.status import RealName
from services.verification.domain.timers import Timer, TimerKind
from services.verification.service_layer import events
from services.verification.service_layer.accounts import active_account
from services.verification.service_layer.context import VerificationContext
from services.verification.service_layer.enterprise import ask_registry
from services.verification.service_layer.status import record
from shared.events import (
    RealNameChangeDecided,
    RealNameChangeKind,
    RealNameMethod,
    RealNameSubject,
)
from shared.logging import get_logger
from shared.operator_audit import record_operator_action
from shared.unit_of_work import UnitOfWork

log = get_logger(__name__)

HISTORY_LIMIT = 50


@dataclass(frozen=True)
class ChangeSubmission:
    """What the applicant typed, unchecked."""

    kind: ChangeKind
    name: str
    uscc: str
    legal_person_name: str
    legal_person_region: LegalPersonRegion
    legal_person_document: str | None = None
    licence_issued_on: date | None = None

    def __repr__(self) -> str:  # never the legal person's document (RN-17)
        return f"ChangeSubmission(kind={self.kind!r}, uscc={self.uscc!r})"


async def submit_change(
    ctx: VerificationContext, account_id: str, submission: ChangeSubmission
) -> ChangeRequest:
    s = ctx.settings
    now = ctx.now()
    today = china_day(now)
    # The legal person's document, when given, is checked as the legal-person methods do.
    method = (
        EnterpriseMethod.LEGAL_PERSON_WECHAT_SCAN
        if submission.legal_person_document
        else EnterpriseMethod.WECHAT_OFFICIAL_PLATFORM
    )
    new = check_enterprise(
        method,
        Region.MAINLAND,
        submission.name,
        submission.uscc,
        submission.legal_person_name,
        submission.legal_person_region,
        submission.legal_person_document,
        today=today,
        minimum_age=s.minimum_age_years,
        international_site=s.international_site_url,
    )
    judge_registry(
        await ask_registry(ctx, new.uscc, account_id),
        new,
        licence_issued_on=submission.licence_issued_on,
        today=today,
        delay_working_days=s.licence_registry_delay_working_days,
    )
    async with ctx.runtime.uow() as uow:
        await active_account(uow, account_id)
        current, identity = await _verified_enterprise(uow, account_id)
        ensure_kind_fits(submission.kind, _current(identity), new)
        changes.ensure_may_change(
            current,
            None,
            Target(RealNameSubject.ENTERPRISE),
            await BillingStandings(uow.conn).get(account_id),
            now=now,
            min_interval=timedelta(seconds=s.change_min_interval_s),
        )
        lp = new.legal_person
        sealed = None
        if lp.checked is not None:
            sealed = ctx.sensitive.seal(
                Purpose.LEGAL_PERSON,
                {"name": lp.name, "document_number": lp.checked.document_number},
                account_id=account_id,
            )
        due = review_due(now, s.change_review_working_days)
        requests = ChangeRequests(uow.conn)
        try:
            request_id = await requests.add(
                NewChangeRequest(
                    account_id=account_id,
                    kind=submission.kind,
                    name=new.name,
                    uscc=new.uscc,
                    legal_person_name_masked=lp.name_masked,
                    legal_person_region=lp.region.value,
                    legal_person_document_masked=lp.document_masked,
                    sealed=sealed,
                    previous={
                        "name": identity.name,
                        "uscc": identity.uscc,
                        "legal_person": identity.legal_person_name_masked,
                        "legal_person_region": identity.legal_person_region,
                    },
                    submitted_at=now,
                    review_due_at=due,
                )
            )
        except AlreadyUnderReview:
            raise ChangeAlreadyUnderReview(
                "A change of this account is under review; withdraw it to submit another."
            ) from None
        await Timers(uow.conn).schedule(
            TimerKind.CHANGE_REVIEW, account_id, str(request_id), due_at=due, now=now
        )
        created = await requests.get(request_id)
    assert created is not None
    log.info("change_submitted", account_id=account_id, kind=submission.kind.value)
    return created


async def _verified_enterprise(
    uow: UnitOfWork, account_id: str
) -> tuple[RealName, EnterpriseIdentity]:
    current = await RealNames(uow.conn).get(account_id, for_update=True)
    if current is None:
        raise AccountUnknown("This account is not known here yet; try again shortly.")
    identity = await Enterprises(uow.conn).get(account_id)
    if (
        current.status is not status.VERIFIED
        or current.subject is not RealNameSubject.ENTERPRISE
        or identity is None
    ):
        raise NotVerifiedAsEnterprise(
            "Only an account verified as an enterprise changes its enterprise data; verify "
            "it as an enterprise (POST /v1/real-name/enterprise)."
        )
    return current, identity


def _current(identity: EnterpriseIdentity) -> CurrentEnterprise:
    return CurrentEnterprise(
        identity.name,
        identity.uscc,
        identity.legal_person_name_masked,
        identity.legal_person_region,
    )


async def changes_of(ctx: VerificationContext, account_id: str) -> list[ChangeRequest]:
    async with ctx.runtime.uow() as uow:
        return await ChangeRequests(uow.conn).of_account(account_id, limit=HISTORY_LIMIT)


async def withdraw_change(ctx: VerificationContext, account_id: str) -> ChangeRequest:
    """The applicant takes back the change under review; nothing changes."""
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        requests = ChangeRequests(uow.conn)
        request = await requests.under_review_of(account_id, for_update=True)
        if request is None:
            raise ChangeRequestUnknown("No change of this account is under review.")
        await requests.decide(request.id, ChangeState.WITHDRAWN, at=now, by=None, reason=None)
        await Timers(uow.conn).cancel(TimerKind.CHANGE_REVIEW, str(request.id), now=now)
        done = await requests.get(request.id)
    assert done is not None
    log.info("change_withdrawn", account_id=account_id, change_id=request.id)
    return done


async def review_queue(
    ctx: VerificationContext, state: ChangeState, *, after_id: int, limit: int
) -> list[ChangeRequest]:
    async with ctx.runtime.uow() as uow:
        return await ChangeRequests(uow.conn).in_state(state, after_id=after_id, limit=limit)


async def approve_change(
    ctx: VerificationContext, request_id: int, *, operator_id: str, reason: str | None
) -> ChangeRequest:
    """The new data applies at once (RN-11); RN-10 is asked again at this moment."""
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        requests = ChangeRequests(uow.conn)
        request = await _under_review(requests, request_id)
        current, identity = await _verified_enterprise(uow, request.account_id)
        changes.ensure_billing_allows(await BillingStandings(uow.conn).get(request.account_id))
        if request.kind is ChangeKind.ENTITY:
            await _move_quota_place(ctx, uow, request, now=now)
        applied = _applied(identity, request, now=now)
        await Enterprises(uow.conn).save(applied)
        method = current.method or RealNameMethod(identity.method)
        change = status.change(current, RealNameSubject.ENTERPRISE, method, at=now)
        await record(
            uow,
            current,
            change,
            details={
                "change": request.kind.value,
                "change_id": request.id,
                "name": applied.name,
                "uscc": applied.uscc,
                "legal_person": applied.legal_person_name_masked,
            },
            change_id=request.id,
        )
        await _decide(uow, request, ChangeState.APPROVED, operator_id, reason, now=now)
        done = await requests.get(request_id)
    assert done is not None
    return done


async def reject_change(
    ctx: VerificationContext, request_id: int, *, operator_id: str, reason: str
) -> ChangeRequest:
    """The old data stays (RN-11)."""
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        requests = ChangeRequests(uow.conn)
        request = await _under_review(requests, request_id)
        await _decide(uow, request, ChangeState.REJECTED, operator_id, reason, now=now)
        done = await requests.get(request_id)
    assert done is not None
    return done


async def _under_review(requests: ChangeRequests, request_id: int) -> ChangeRequest:
    request = await requests.get(request_id, for_update=True)
    if request is None:
        raise ChangeRequestUnknown("No such change request.")
    ensure_under_review(request.state)
    return request


async def _decide(
    uow: UnitOfWork,
    request: ChangeRequest,
    state: ChangeState,
    operator_id: str,
    reason: str | None,
    *,
    now: datetime,
) -> None:
    await ChangeRequests(uow.conn).decide(request.id, state, at=now, by=operator_id, reason=reason)
    await Timers(uow.conn).cancel(TimerKind.CHANGE_REVIEW, str(request.id), now=now)
    await record_operator_action(
        uow.conn,
        operator_actions,
        at=now,
        operator_id=operator_id,
        action=f"change_{state.value}",
        subject=f"change:{request.id}",
        account_id=request.account_id,
        reason=reason,
    )
    # The applicant hears of the decision (the notifier's change_approved/change_rejected).
    await events.emit(
        uow,
        request.account_id,
        RealNameChangeDecided(
            change_id=request.id,
            kind=RealNameChangeKind(request.kind.value),
            approved=state is ChangeState.APPROVED,
            reason=reason,
            decided_at=now,
        ),
    )
    log.info(
        "change_decided", account_id=request.account_id, change_id=request.id, state=state.value
    )


async def _move_quota_place(
    ctx: VerificationContext, uow: UnitOfWork, request: ChangeRequest, *, now: datetime
) -> None:
    """RN-7: the account leaves enterprise A's count and joins B's, in this transaction."""
    claims = QuotaClaims(uow.conn)
    await claims.release_held(QuotaKind.ENTERPRISE, request.account_id, now=now)
    fingerprint = ctx.sensitive.fingerprint(Purpose.ENTERPRISE, f"uscc:{request.uscc}")
    try:
        claim_id = await claims.reserve(
            QuotaKind.ENTERPRISE,
            fingerprint,
            request.account_id,
            limit=ctx.settings.enterprise_max_accounts,
            now=now,
            lease_until=now + timedelta(seconds=ctx.settings.quota_lease_s),
        )
    except QuotaFull as full:
        raise EnterpriseQuotaExceeded(full.limit) from None
    except AccountAlreadyClaims:
        raise VerificationInProgress(
            "Another enterprise submission of this account is being checked; try again."
        ) from None
    held = await claims.hold(claim_id, now=now)
    assert held, "reserved in this transaction"


def _applied(
    identity: EnterpriseIdentity, request: ChangeRequest, *, now: datetime
) -> EnterpriseIdentity:
    """The enterprise after the change: an entity change replaces everything, a name change
    the name only, a legal person update the legal person only."""
    if request.kind is ChangeKind.NAME:
        return replace(identity, name=request.name, verified_at=now)
    with_legal_person = replace(
        identity,
        legal_person_name_masked=request.legal_person_name_masked,
        legal_person_region=request.legal_person_region,
        legal_person_document_masked=request.legal_person_document_masked,
        sealed=request.sealed,
        verified_at=now,
    )
    if request.kind is ChangeKind.ENTITY:
        return replace(with_legal_person, name=request.name, uscc=request.uscc)
    return with_legal_person


async def review_overdue(ctx: VerificationContext, uow: UnitOfWork, timer: Timer) -> None:
    """The review period ended with the change still under review (the timer's effect):
    escalate it; the clock never approves nor rejects."""
    if await ChangeRequests(uow.conn).escalate(int(timer.ref), at=uow.now()):
        log.warning("change_review_overdue", account_id=timer.account_id, change_id=timer.ref)
