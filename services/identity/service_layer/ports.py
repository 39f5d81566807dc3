"""What the use cases need from the outside world, as small protocols.

The adapters in services/identity/adapters implement them; bootstrap.py wires the real ones
and tests may pass their own. The service layer and the domain never import an adapter
(tests/unit/test_identity_layers.py). The value types the ports answer with live here too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from services.identity.domain.codes import Budget
from services.identity.domain.erasure import Erased, PersonalData
from services.identity.domain.flows import Flow
from services.identity.domain.lockout import Attempt
from services.identity.domain.login_methods import Identity
from services.identity.domain.recovery import AppealStatus
from shared.auth import Caller
from shared.events import LoginMethodKind
from shared.secret_box import Sealed as Sealed  # MFA-6: the secret box's values
from shared.secret_box import SecretUnreadable as SecretUnreadable

Row = Any  # a row of identity's tables (sqlalchemy.Row), read by attribute


# --- values the ports answer with ---------------------------------------------------------


@dataclass(frozen=True)
class VerifiedAssertion:
    """What a provider vouches for about the person in front of us."""

    kind: LoginMethodKind
    subject: str  # the identifier we key the person by (UnionID for WeChat, LM-7)
    subtype: str | None = None  # official_account or mini_program (LM-8)
    open_platform_id: str | None = None
    permissions: frozenset[str] = field(default_factory=frozenset)
    authorization_revoked: bool = False
    display: str = ""


@dataclass(frozen=True)
class SolvedCaptcha:
    """A captcha ticket whose signature holds: its id, whom it was solved for, its end."""

    ticket_id: str
    identifier: str
    expires_at: int


@dataclass(frozen=True)
class Opened:
    """A new session: its caller, first access token and refresh token."""

    caller: Caller
    access_token: str
    refresh_token: str
    ends_at: datetime


@dataclass(frozen=True)
class Refreshed:
    caller: Caller
    access_token: str
    refresh_token: str
    ends_at: datetime


class MfaDeviceState(StrEnum):
    PENDING = "pending"  # made by a bind, waiting for its first code (MFA-2)
    ACTIVE = "active"


@dataclass(frozen=True)
class MfaDevice:
    account_id: int
    state: MfaDeviceState
    sealed: Sealed
    created_at: datetime
    activated_at: datetime | None


# --- the ports ------------------------------------------------------------------------------


class IdentityProvider(Protocol):
    """REG-6: verifies a provider's assertion (raises ASSERTION_INVALID)."""

    def verify(self, kind: LoginMethodKind, assertion: str) -> VerifiedAssertion: ...


class CaptchaProvider(Protocol):
    def verify(self, ticket: str) -> SolvedCaptcha | None:
        """The ticket's claims when its signature, issuer and expiry hold; None otherwise.
        Single use and the binding to an identifier are checked by the caller."""
        ...


class UsedCaptchaTickets(Protocol):
    async def consume(self, ticket_id: str, expires_at: int) -> bool:
        """True the first time a ticket id is presented, False ever after (until expiry)."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when the password matches; a missing hash costs the same time as a real one."""
        ...


class CodeStore(Protocol):
    """One-time codes (CODE-1..3) and the send budgets, each check-and-count atomic."""

    async def spend(self, budgets: Sequence[Budget]) -> None: ...

    async def refund(self, budgets: Sequence[Budget]) -> None: ...

    async def issue(self, purpose: str, destination: str) -> str: ...

    async def verify(self, purpose: str, destination: str, code: str) -> None: ...

    async def forget(self, destination: str) -> int:
        """Delete the destination's live codes (CAN-7)."""
        ...


class LoginGuard(Protocol):
    """LOGIN-1..4: per-subject lockout, the failure budget and the per-IP throttle."""

    @property
    def failure_budget(self) -> int: ...

    async def begin(self, subject: str, *, captcha_passed: bool) -> Attempt: ...

    async def failed(self, attempt: Attempt) -> datetime | None: ...

    async def succeeded(self, attempt: Attempt) -> None: ...

    async def release(self, attempt: Attempt) -> None: ...

    async def relock(self, attempt: Attempt, until: datetime | None, until_reset: bool) -> None: ...

    async def may_notify_lock(self, account_id: str, interval_s: int) -> bool: ...

    async def forget_lock_notice(self, account_id: str) -> None: ...

    async def spend(self, subject: str, *, refuse_when_spent: bool) -> int | None: ...

    async def unspend(self, subject: str) -> None: ...

    async def settle(self, subject: str, *, right: bool) -> None: ...

    async def unlock(self, subject: str) -> None: ...

    async def forget(self, subject: str) -> None:
        """Delete every key kept of the subject (CAN-7)."""
        ...

    async def reserve_ip(self, client: str | None) -> None: ...

    async def give_back_ip(self, client: str | None) -> None: ...


class SessionStore(Protocol):
    """Revocable sessions with signed access tokens and single-use refresh tokens."""

    @property
    def access_ttl_s(self) -> int: ...

    async def open(
        self, account_id: str, now: datetime, *, amr: tuple[str, ...] = ()
    ) -> Opened: ...

    def token(self, caller: Caller, now: datetime) -> str: ...

    async def authenticate(self, token: str) -> Caller: ...

    async def refresh(self, refresh_token: str, now: datetime) -> Refreshed: ...

    async def step_up(self, caller: Caller, factor: str, now: datetime) -> str:
        """Record a fresh second factor on the caller's session; its new access token."""
        ...

    async def close(self, caller: Caller) -> None: ...

    async def close_all(self, account_id: str, *, keep: str | None = None) -> int: ...

    async def close_for_good(self, account_id: str, *, keep_s: int) -> int:
        """End every session and open none for `keep_s` (CAN-7)."""
        ...


class Repository(Protocol):
    """Identity's tables, inside the caller's connection or unit of work. The module
    adapters/repository.py satisfies it as it is (a module can implement a protocol)."""

    async def lock_identifier(self, conn: AsyncConnection, namespace: str, value: str) -> None: ...

    async def new_account_id(self, conn: AsyncConnection) -> int: ...

    async def insert_account(
        self, conn: AsyncConnection, account_id: int, **values: Any
    ) -> None: ...

    async def get_account(
        self, conn: AsyncConnection, account_id: int, *, for_update: bool = False
    ) -> Row: ...

    async def update_account(
        self, conn: AsyncConnection, account_id: int, **values: Any
    ) -> None: ...

    async def record_login(
        self, conn: AsyncConnection, account_id: int, *, at: datetime
    ) -> None: ...

    async def methods_of(self, conn: AsyncConnection, account_id: int) -> list[Row]: ...

    async def accounts_with(
        self, conn: AsyncConnection, kind: LoginMethodKind, identifier: str
    ) -> list[int]: ...

    async def first_account_with(
        self, conn: AsyncConnection, kind: LoginMethodKind, identifier: str
    ) -> Row | None: ...

    async def insert_method(
        self,
        conn: AsyncConnection,
        account_id: int,
        identity: Identity,
        *,
        display: str,
        limit: int,
        at: datetime,
    ) -> None: ...

    async def delete_method(
        self, conn: AsyncConnection, account_id: int, kind: LoginMethodKind
    ) -> None: ...

    async def release_all_methods(self, conn: AsyncConnection, account_id: int) -> None: ...

    async def count_secure_phone(self, conn: AsyncConnection, phone: str) -> int: ...

    async def record_attempt(
        self,
        conn: AsyncConnection,
        account_id: int,
        *,
        at: datetime,
        method: str,
        device_id: str | None,
        ip: str | None,
        result: str,
        reason: str | None = None,
        attempts: int = 1,
    ) -> None: ...

    async def record_password_lock(
        self,
        conn: AsyncConnection,
        account_id: int,
        *,
        until: datetime | None,
        until_reset: bool,
        streak: int | None = None,
    ) -> None: ...

    async def lift_password_lock(self, conn: AsyncConnection, account_id: int) -> None: ...

    async def status_for_share(self, conn: AsyncConnection, account_id: int) -> str | None: ...

    async def login_email(self, conn: AsyncConnection, account_id: int) -> str | None: ...

    async def login_history(
        self, conn: AsyncConnection, account_id: int, limit: int
    ) -> Sequence[Row]: ...

    async def insert_project(
        self, conn: AsyncConnection, account_id: int, name: str, description: str, at: datetime
    ) -> Row: ...

    async def set_project_enabled(
        self,
        conn: AsyncConnection,
        account_id: int,
        project_id: uuid.UUID,
        enabled: bool,
        at: datetime,
    ) -> Row: ...

    async def list_projects(
        self, conn: AsyncConnection, account_id: int, include_disabled: bool
    ) -> Sequence[Row]: ...

    async def mfa_active(self, conn: AsyncConnection, account_id: int) -> bool: ...


class DeviceRepository(Protocol):
    """The devices identity issued a credential to (LOGIN-5, LOGIN-6); adapters/
    device_repository.py satisfies it as a module."""

    async def find(
        self, conn: AsyncConnection, account_id: int, credential: str | None
    ) -> Row | None: ...

    async def issue(
        self,
        conn: AsyncConnection,
        account_id: int,
        credential: str,
        *,
        label: str | None,
        at: datetime,
    ) -> uuid.UUID: ...

    async def seen(self, conn: AsyncConnection, device_pk: uuid.UUID, *, at: datetime) -> None: ...

    async def trust(
        self, conn: AsyncConnection, device_pk: uuid.UUID, *, until: datetime
    ) -> None: ...

    async def trusted_of(
        self, conn: AsyncConnection, account_id: int, now: datetime
    ) -> Sequence[Row]: ...

    async def untrust(
        self, conn: AsyncConnection, account_id: int, device_pk: uuid.UUID
    ) -> bool: ...

    async def untrust_all(self, conn: AsyncConnection, account_id: int) -> int: ...


class FlowRepository(Protocol):
    """Login and step-up flows; adapters/flow_repository.py satisfies it as a module."""

    async def create(self, conn: AsyncConnection, flow: Flow, *, ip: str | None) -> None: ...

    async def get(self, conn: AsyncConnection, flow_id: uuid.UUID) -> Flow: ...

    async def complete(
        self, conn: AsyncConnection, flow_id: uuid.UUID, *, amr: tuple[str, ...], at: datetime
    ) -> bool: ...

    async def expire_pending(
        self,
        conn: AsyncConnection,
        account_id: int,
        *,
        at: datetime,
        keep_session: str | None = None,
    ) -> int: ...


class ErasureRepository(Protocol):
    """CAN-7: what identity's tables hold of a person, and its erasure; adapters/erasure.py
    satisfies it as a module."""

    async def personal_data_of(self, conn: AsyncConnection, account_id: int) -> PersonalData: ...

    async def held_by_others(
        self, conn: AsyncConnection, account_id: int, destinations: Iterable[str]
    ) -> set[str]: ...

    async def erase(self, conn: AsyncConnection, data: PersonalData, *, at: datetime) -> Erased: ...


class AppealRepository(Protocol):
    """Recovery (REC-1, REC-2): appeals and the operator audit trail; adapters/appeals.py
    satisfies it as a module."""

    async def guarded_by(
        self, conn: AsyncConnection, phone: str
    ) -> list[tuple[Row, list[Row]]]: ...

    async def pending_of(self, conn: AsyncConnection, account_id: int) -> uuid.UUID | None: ...

    async def insert(
        self,
        conn: AsyncConnection,
        *,
        account_id: int,
        email: str,
        email_key: str,
        password_hash: str,
        reset_mfa: bool,
        statement: str,
        ip: str | None,
        at: datetime,
    ) -> uuid.UUID: ...

    async def get(
        self, conn: AsyncConnection, appeal_id: uuid.UUID, *, for_update: bool = False
    ) -> Row: ...

    async def listed(
        self, conn: AsyncConnection, status: AppealStatus, limit: int
    ) -> Sequence[Row]: ...

    async def decide(
        self,
        conn: AsyncConnection,
        appeal_id: uuid.UUID,
        status: AppealStatus,
        *,
        at: datetime,
        by: str,
        reason: str | None,
    ) -> None: ...

    async def record_operator_action(
        self,
        conn: AsyncConnection,
        *,
        at: datetime,
        operator_id: str,
        action: str,
        account_id: int,
        subject: str,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None: ...


class MfaDeviceRepository(Protocol):
    """MFA devices (MFA-1, MFA-6): one row per account, the secret only as ciphertext."""

    async def get(
        self, conn: AsyncConnection, account_id: int, *, for_update: bool = False
    ) -> MfaDevice | None: ...

    async def put_pending(
        self, conn: AsyncConnection, account_id: int, sealed: Sealed, at: datetime
    ) -> bool:
        """Store a pending device, replacing a pending one; False when one is active."""
        ...

    async def activate(
        self, conn: AsyncConnection, account_id: int, sealed: Sealed, at: datetime
    ) -> bool:
        """The pending device with this secret becomes active; False when it changed."""
        ...

    async def reseal(
        self, conn: AsyncConnection, account_id: int, old: Sealed, new: Sealed
    ) -> None: ...

    async def remove_active(self, conn: AsyncConnection, account_id: int) -> bool: ...

    async def remove_any(self, conn: AsyncConnection, account_id: int) -> MfaDeviceState | None: ...


class SecretBox(Protocol):
    """MFA-6: seals under the current key, opens under any key of the ring."""

    @property
    def current_key_id(self) -> str: ...

    def seal(self, plaintext: bytes, *, account_id: int | str) -> Sealed: ...

    def open(self, sealed: Sealed, *, account_id: int | str) -> bytes:
        """The plaintext, or SecretUnreadable."""
        ...


class TotpWindow(Protocol):
    """MFA-3: the last TOTP step used per account, claimed atomically."""

    async def claim(self, account_id: int | str, step: int) -> bool:
        """True when `step` is newer than every step used before; False for a replay."""
        ...

    async def forget(self, account_id: int | str) -> None: ...
