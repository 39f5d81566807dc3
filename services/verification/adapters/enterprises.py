"""RN-5, RN-8, RN-15: the enterprise methods' outside parties, through ports.

- `EnterpriseRegistry`: the national enterprise credit registry (is this code registered,
  under which name, deregistered?);
- `EnterpriseChecks`: the instant methods (WeChat official platform, the legal person's
  WeChat scan or face recognition): does the party in front of the console confirm the
  enterprise?
- `Bank`: sends the corporate remittance (a random amount to the enterprise's account).

`HttpEnterpriseGateway` is all three at one gateway over HTTP. `FakeEnterpriseGateway` (dev
mode and tests only) answers what /v1/dev told it, kept in Redis so every instance agrees,
and remembers what it "sent" so /v1/dev can show it (the amount the user then enters).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx
from redis.asyncio import Redis

from services.verification.adapters.persons import CheckResult, Outcome, ProviderDown
from services.verification.domain.enterprise import RegistryRecord


@dataclass(frozen=True)
class EnterpriseCheck:
    """What an instant method is asked: does this party confirm this enterprise?"""

    account_id: str
    method: str
    name: str
    uscc: str
    legal_person_name: str
    legal_person_document_kind: str | None
    legal_person_document_number: str | None

    def __repr__(self) -> str:  # never the legal person's name or document (RN-17)
        return f"EnterpriseCheck(account_id={self.account_id!r}, method={self.method!r})"


@dataclass(frozen=True)
class Transfer:
    """A remittance to send; `key` makes a retried send the same transfer."""

    key: str
    account_id: str
    account_name: str
    bank_name: str
    account_number: str  # sensitive (RN-17)
    amount_fen: int

    def __repr__(self) -> str:
        return f"Transfer(key={self.key!r}, account_id={self.account_id!r})"


@dataclass(frozen=True)
class Sent:
    """The bank accepted the transfer at `at` (the start of RN-5's 7 days)."""

    reference: str
    at: datetime


class BankRefusedTransfer(Exception):
    """The bank will not send to that account (no such account, wrong name)."""


class EnterpriseRegistry(Protocol):
    async def lookup(self, uscc: str) -> RegistryRecord | None:
        """The registry's record of the code, None when it has none; ProviderDown when it
        cannot be asked."""
        ...


class EnterpriseChecks(Protocol):
    async def check(self, request: EnterpriseCheck) -> CheckResult:
        """The verdict of the instant method; ProviderDown when there is none. May hang:
        the caller bounds it."""
        ...


class Bank(Protocol):
    async def send(self, transfer: Transfer, *, now: datetime) -> Sent:
        """Send the amount; BankRefusedTransfer, or ProviderDown when the bank cannot be
        asked."""
        ...


FAKE_TTL_S = 7 * 86400


@dataclass(frozen=True)
class FakeRemittance:
    """What the fake bank sent to an account's enterprise (for /v1/dev)."""

    amount_fen: int
    bank_account_masked: str
    reference: str
    at: datetime


class FakeEnterpriseGateway:
    """The registry, the instant checks and the bank, as /v1/dev told them."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}fake_enterprise:"

    # registry
    async def put_record(self, record: RegistryRecord) -> None:
        value = json.dumps({"name": record.name, "deregistered": record.deregistered})
        await self._redis.set(f"{self._prefix}registry:{record.uscc}", value, ex=FAKE_TTL_S)

    async def remove_record(self, uscc: str) -> None:
        await self._redis.delete(f"{self._prefix}registry:{uscc}")

    async def lookup(self, uscc: str) -> RegistryRecord | None:
        raw = await self._redis.get(f"{self._prefix}registry:{uscc}")
        if raw is None:
            return None
        data = json.loads(raw)
        return RegistryRecord(uscc, data["name"], bool(data["deregistered"]))

    # instant checks
    async def tell(self, account_id: str, outcome: Outcome) -> None:
        await self._redis.set(f"{self._prefix}check:{account_id}", outcome.value, ex=FAKE_TTL_S)

    async def check(self, request: EnterpriseCheck) -> CheckResult:
        told = await self._redis.get(f"{self._prefix}check:{request.account_id}")
        outcome = Outcome(told.decode()) if told else Outcome.PASS
        if outcome is Outcome.TIMEOUT:
            await asyncio.sleep(3600)  # the caller's deadline ends this
        if outcome is Outcome.FAIL:
            return CheckResult(False, "not_confirmed")
        return CheckResult(True)

    # bank
    async def send(self, transfer: Transfer, *, now: datetime) -> Sent:
        reference = f"FAKE-{transfer.key}"
        number = transfer.account_number
        value = json.dumps(
            {
                "amount_fen": transfer.amount_fen,
                "bank_account_masked": "*" * (len(number) - 4) + number[-4:],
                "reference": reference,
                "at": now.isoformat(),
            }
        )
        await self._redis.set(f"{self._prefix}sent:{transfer.account_id}", value, ex=FAKE_TTL_S)
        return Sent(reference, now)

    async def sent_to(self, account_id: str) -> FakeRemittance | None:
        """The last remittance the fake bank sent for the account."""
        raw = await self._redis.get(f"{self._prefix}sent:{account_id}")
        if raw is None:
            return None
        data = json.loads(raw)
        return FakeRemittance(
            data["amount_fen"],
            data["bank_account_masked"],
            data["reference"],
            datetime.fromisoformat(data["at"]),
        )


class HttpEnterpriseGateway:
    """The enterprise gateway: GET /registry/{uscc}, POST /checks, POST /remittances."""

    def __init__(self, url: str, token: str, *, client: httpx.AsyncClient | None = None) -> None:
        self._url = url.rstrip("/")
        self._headers = {"authorization": f"Bearer {token}"}
        self._client = client or httpx.AsyncClient()

    async def lookup(self, uscc: str) -> RegistryRecord | None:
        try:
            reply = await self._client.get(f"{self._url}/registry/{uscc}", headers=self._headers)
            if reply.status_code == 404:
                return None
            reply.raise_for_status()
            body = reply.json()
            return RegistryRecord(uscc, str(body["name"]), body.get("status") == "deregistered")
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            raise ProviderDown("the enterprise registry did not answer") from None

    async def check(self, request: EnterpriseCheck) -> CheckResult:
        try:
            reply = await self._client.post(
                f"{self._url}/checks",
                headers=self._headers,
                json={
                    "account_id": request.account_id,
                    "method": request.method,
                    "name": request.name,
                    "uscc": request.uscc,
                    "legal_person_name": request.legal_person_name,
                    "legal_person_document_kind": request.legal_person_document_kind,
                    "legal_person_document_number": request.legal_person_document_number,
                },
            )
            reply.raise_for_status()
            body = reply.json()
        except (httpx.HTTPError, ValueError):
            # Described by type only: the request carried the legal person's document.
            raise ProviderDown("the enterprise gateway did not answer") from None
        result = body.get("result") if isinstance(body, dict) else None
        if result == "pass":
            return CheckResult(True)
        if result == "fail":
            reason = body.get("reason")
            return CheckResult(False, reason if isinstance(reason, str) else "")
        raise ProviderDown("the enterprise gateway gave no verdict")

    async def send(self, transfer: Transfer, *, now: datetime) -> Sent:
        try:
            reply = await self._client.post(
                f"{self._url}/remittances",
                headers={**self._headers, "idempotency-key": transfer.key},
                json={
                    "account_name": transfer.account_name,
                    "bank_name": transfer.bank_name,
                    "account_number": transfer.account_number,
                    "amount_fen": transfer.amount_fen,
                },
            )
            if reply.status_code == 422:
                raise BankRefusedTransfer()
            reply.raise_for_status()
            reference = str(reply.json()["reference"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            raise ProviderDown("the bank did not answer") from None
        return Sent(reference, now)
