"""RN-2, RN-3, RN-4: a person verifies an account by WeChat scan, QQ scan or face.

1. The submission is checked (pure domain: region, method, name, document, age) before
   anything is counted or stored.
2. It counts against the account's day (PERSON_SUBMISSIONS_PER_DAY, in Redis).
3. One transaction checks the account (ACC-3) and its status (RN-1) and reserves a place in
   the identity's quota (RN-3, atomic: the key's row lock), then commits.
4. The provider is asked outside any transaction, under PERSON_PROVIDER_TIMEOUT_S.
5. A pass commits the verification: the place is held, the person sealed (RN-17), the
   change recorded and published (RN-16). A failure or a timeout gives the place back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import redis.exceptions

from services.verification.adapters.persons import PersonCheck, ProviderDown
from services.verification.adapters.quota import (
    AccountAlreadyClaims,
    QuotaClaims,
    QuotaFull,
    QuotaKind,
)
from services.verification.adapters.repository import PersonalIdentity, RealNames
from services.verification.adapters.sensitive import Purpose
from services.verification.domain import status
from services.verification.domain.changes import Target
from services.verification.domain.errors import (
    AccountUnknown,
    IdentityQuotaExceeded,
    PersonNotConfirmed,
    ProviderTimeout,
    ProviderUnavailable,
    SubmissionExpired,
    SubmissionsExhausted,
    SubmissionsUncountable,
    VerificationInProgress,
)
from services.verification.domain.personal import (
    CHINA,
    Person,
    PersonalMethod,
    Region,
    check_person,
    china_day,
)
from services.verification.domain.status import RealName
from services.verification.service_layer.accounts import active_account
from services.verification.service_layer.changes import ensure_may_verify
from services.verification.service_layer.context import VerificationContext
from services.verification.service_layer.status import record
from shared.events import RealNameSubject
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class PersonalSubmission:
    """What the person typed, unchecked."""

    method: PersonalMethod
    region: Region
    name: str
    document_number: str

    def __repr__(self) -> str:  # never the document or the name (RN-17)
        return f"PersonalSubmission(method={self.method!r}, region={self.region!r})"


async def verify_person(
    ctx: VerificationContext, account_id: str, submission: PersonalSubmission
) -> RealName:
    """The account verified as this person, or a named refusal; nothing counted on refusal."""
    settings = ctx.settings
    today = china_day(ctx.now())
    person = check_person(
        submission.method,
        submission.region,
        submission.name,
        submission.document_number,
        today=today,
        minimum_age=settings.minimum_age_years,
        international_site=settings.international_site_url,
    )
    await _count_submission(ctx, account_id, today)
    fingerprint = ctx.sensitive.fingerprint(Purpose.PERSON, person.identity_key)
    claim_id = await _reserve(ctx, account_id, fingerprint, person.region)
    try:
        await _ask_provider(ctx, account_id, person)
        return await _complete(ctx, account_id, person, fingerprint, claim_id)
    except BaseException:
        await _release(ctx, claim_id)
        raise


async def _count_submission(ctx: VerificationContext, account_id: str, today: date) -> None:
    """A valid submission counts against the account's day before anything else happens."""
    limit = ctx.settings.person_submissions_per_day
    try:
        counted = await ctx.submissions.count(account_id, today)
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        raise SubmissionsUncountable(
            "Submissions cannot be counted right now; try again shortly."
        ) from None
    if counted > limit:
        midnight = datetime.combine(today + timedelta(days=1), time(), tzinfo=CHINA)
        retry_after = max(1, int((midnight - ctx.now()).total_seconds()))
        raise SubmissionsExhausted(limit, retry_after)


async def _reserve(
    ctx: VerificationContext, account_id: str, fingerprint: str, region: Region
) -> int:
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        await active_account(uow, account_id)
        current = await RealNames(uow.conn).get(account_id)
        if current is None:
            raise AccountUnknown("This account is not known here yet; try again shortly.")
        await ensure_may_verify(ctx, uow, current, Target(RealNameSubject.PERSONAL, region))
        try:
            return await QuotaClaims(uow.conn).reserve(
                QuotaKind.PERSON,
                fingerprint,
                account_id,
                limit=ctx.settings.identity_max_accounts,
                now=now,
                lease_until=now + timedelta(seconds=ctx.settings.quota_lease_s),
            )
        except QuotaFull as full:
            raise IdentityQuotaExceeded(full.limit) from None
        except AccountAlreadyClaims:
            raise VerificationInProgress(
                "Another real-name submission of this account is being checked."
            ) from None


async def _ask_provider(ctx: VerificationContext, account_id: str, person: Person) -> None:
    check = PersonCheck(
        account_id=account_id,
        method=person.method.value,
        region=person.region.value,
        document_kind=person.document_kind.value,
        document_number=person.document_number,
        name=person.name,
    )
    try:
        async with asyncio.timeout(ctx.settings.person_provider_timeout_s):
            result = await ctx.persons.check(check)
    except TimeoutError:
        log.warning("person_check_timed_out", account_id=account_id, method=person.method.value)
        raise ProviderTimeout(
            "The check did not answer in time; nothing was counted. Try again."
        ) from None
    except ProviderDown:
        log.warning("person_provider_down", account_id=account_id, method=person.method.value)
        raise ProviderUnavailable(
            "The check cannot be done right now; try again shortly."
        ) from None
    if not result.passed:
        log.info("person_not_confirmed", account_id=account_id, method=person.method.value)
        raise PersonNotConfirmed(result.reason or "not_confirmed")


async def _complete(
    ctx: VerificationContext, account_id: str, person: Person, fingerprint: str, claim_id: int
) -> RealName:
    now = ctx.now()
    async with ctx.runtime.uow() as uow:
        real_names = RealNames(uow.conn)
        current = await real_names.get(account_id, for_update=True)
        assert current is not None, "reserved above"
        claims = QuotaClaims(uow.conn)
        # The gate again, under the row lock: another submission may have verified or
        # changed the account since this one reserved (RN-9's 30 days count from it).
        target = Target(RealNameSubject.PERSONAL, person.region)
        if await ensure_may_verify(ctx, uow, current, target):  # the old person no longer counts
            change = status.change(
                current, RealNameSubject.PERSONAL, person.method.as_event, at=now
            )
            await claims.release_held(QuotaKind.PERSON, account_id, now=now)
        else:
            change = status.verify(
                current, RealNameSubject.PERSONAL, person.method.as_event, at=now
            )
        if not await claims.hold(claim_id, now=now):
            raise SubmissionExpired("The submission took too long; submit it again.")
        sealed = ctx.sensitive.seal(
            Purpose.PERSON,
            {"name": person.name, "document_number": person.document_number},
            account_id=account_id,
        )
        await real_names.save_person(
            PersonalIdentity(
                account_id=account_id,
                region=person.region.value,
                document_kind=person.document_kind.value,
                name_masked=person.name_masked,
                document_masked=person.document_masked,
                sealed=sealed,
                fingerprint=fingerprint,
                verified_at=now,
            )
        )
        return await record(
            uow,
            current,
            change,
            details={
                "region": person.region.value,
                "document_kind": person.document_kind.value,
                "name": person.name_masked,
                "document": person.document_masked,
            },
            region=person.event_region,
        )


async def _release(ctx: VerificationContext, claim_id: int) -> None:
    """Give the place back; if the database is down the lease frees it later."""
    try:
        async with ctx.runtime.uow() as uow:
            await QuotaClaims(uow.conn).release(claim_id, now=ctx.now())
    except Exception as error:  # the original refusal matters more than this
        log.warning("quota_release_failed", claim_id=claim_id, error=type(error).__name__)
