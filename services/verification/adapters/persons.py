"""RN-2: the instant personal checks (WeChat scan, QQ scan, face recognition) through a port.

The real checks run at a real-name gateway (WeChat Pay's and QQ's real-name services, a face
recognition vendor) that answers whether the person in front of the console is the one the
name and document number say. `HttpPersonProvider` asks that gateway over HTTP; the fake
answers what it was told (per account, in Redis, so every instance agrees), for dev mode and
tests only: pass, fail, or never (a timeout, cut by the service's deadline).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import httpx
from redis.asyncio import Redis


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class PersonCheck:
    """What the provider is asked: is the person of this account this name and document?"""

    account_id: str
    method: str
    region: str
    document_kind: str
    document_number: str
    name: str

    def __repr__(self) -> str:  # never the document or the name (RN-17)
        return f"PersonCheck(account_id={self.account_id!r}, method={self.method!r})"


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    reason: str = ""


class ProviderDown(Exception):
    """The provider could not be asked (network, 5xx, nonsense answer)."""


class PersonProvider(Protocol):
    async def check(self, request: PersonCheck) -> CheckResult:
        """The provider's verdict; ProviderDown when it cannot give one. May hang: the
        caller bounds it with its own deadline."""
        ...


FAKE_OUTCOME_TTL_S = 86400


class FakePersonProvider:
    """Answers what /v1/dev told it for the account (default: pass)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, account_id: str) -> str:
        return f"{self._prefix}fake_person:{account_id}"

    async def tell(self, account_id: str, outcome: Outcome) -> None:
        await self._redis.set(self._key(account_id), outcome.value, ex=FAKE_OUTCOME_TTL_S)

    async def check(self, request: PersonCheck) -> CheckResult:
        told = await self._redis.get(self._key(request.account_id))
        outcome = Outcome(told.decode()) if told else Outcome.PASS
        if outcome is Outcome.TIMEOUT:
            await asyncio.sleep(3600)  # the caller's deadline ends this
        if outcome is Outcome.FAIL:
            return CheckResult(False, "not_the_same_person")
        return CheckResult(True)


class HttpPersonProvider:
    """The real-name gateway: POST the check, read {"result": "pass"|"fail", "reason"}."""

    def __init__(self, url: str, token: str, *, client: httpx.AsyncClient | None = None) -> None:
        self._url = url
        self._token = token
        self._client = client or httpx.AsyncClient()

    async def check(self, request: PersonCheck) -> CheckResult:
        try:
            reply = await self._client.post(
                self._url,
                headers={"authorization": f"Bearer {self._token}"},
                json={
                    "account_id": request.account_id,
                    "method": request.method,
                    "region": request.region,
                    "document_kind": request.document_kind,
                    "document_number": request.document_number,
                    "name": request.name,
                },
            )
            reply.raise_for_status()
            body = reply.json()
        except (httpx.HTTPError, ValueError):
            # Described by type only: the request carried the document number.
            raise ProviderDown("the real-name gateway did not answer") from None
        result = body.get("result") if isinstance(body, dict) else None
        if result == "pass":
            return CheckResult(True)
        if result == "fail":
            reason = body.get("reason")
            return CheckResult(False, reason if isinstance(reason, str) else "")
        raise ProviderDown("the real-name gateway gave no verdict")
