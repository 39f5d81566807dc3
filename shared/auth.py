"""Access tokens: identity signs them (Ed25519); any service verifies them offline.

A token is a JWT (RFC 7519) signed with EdDSA whose header names the signing key (`kid`, the
key's RFC 7638 thumbprint). Its claims: `iss` identity, `aud` the account center, `sub` the
account, `sid` its session, `iat` = `nbf`, `exp` (`access_token_ttl_s`, minutes), and how the
session was authenticated: `amr` (RFC 8176 method references: `pwd`, `fed` for a provider
assertion, `otp` for a TOTP code, `sms`, `mail`), `auth_time` (the login) and, after a
step-up, `step_up_at` (when a second factor was last proven; protected operations in every
service check its freshness offline, `require_step_up`). Identity
publishes its current and previous public keys at `/.well-known/jwks.json` (RFC 7517); other
services verify with `TokenVerifier`, which caches that key set and fetches it again when a
token names a `kid` it does not know (a rotation) or the cache is old, so keys rotate without
downtime and without a synchronous call per request.

Identity also checks, on each request, that the session is still live in its Redis, so logout,
a password change or a freeze ends a session at once there; other services learn of frozen and
cancelled accounts from AccountStatusChanged within seconds and refuse them from their own
projection.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Header, Request

from shared.errors import AppError
from shared.runtime import runtime_of

ISSUER = "account-center-identity"
AUDIENCE = "account-center"
LEEWAY_S = 10  # clock skew between the machines of identity and a verifying service
ALGORITHM = "EdDSA"
JWKS_PATH = "/.well-known/jwks.json"

Jwks = dict[str, list[dict[str, str]]]


class Unauthenticated(AppError):
    status_code = 401
    code = "UNAUTHENTICATED"


class StepUpRequired(AppError):
    """PROT-1: the operation needs a second factor proven recently."""

    status_code = 403
    code = "STEP_UP_REQUIRED"


# Where a client starts the step-up flow (identity's API).
STEP_UP_ENDPOINT = "POST /v1/me/step-up"


@dataclass(frozen=True)
class Caller:
    """The authenticated account and session of a request, and how it was authenticated."""

    account_id: str
    session_id: str
    amr: tuple[str, ...] = ()
    auth_time: int | None = None
    step_up_at: int | None = None

    def stepped_up_within(self, max_age_s: int, *, now: float) -> bool:
        """Whether a second factor was proven in the last `max_age_s` seconds."""
        return self.step_up_at is not None and now - self.step_up_at <= max_age_s


def require_step_up(caller: Caller, max_age_s: int, *, now: float) -> None:
    """PROT-1 across services: refuse unless the token proves a fresh second factor; the
    answer names identity's endpoint that starts a step-up."""
    if not caller.stepped_up_within(max_age_s, now=now):
        raise StepUpRequired(
            f"This operation needs a second factor proven in the last {max_age_s} s: "
            f"start a step-up at identity ({STEP_UP_ENDPOINT}), then retry with its token.",
            details={"step_up": STEP_UP_ENDPOINT, "max_age_s": max_age_s},
        )


# --- keys ------------------------------------------------------------------------------


def private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the session signing key must be an Ed25519 private key")
    return key


def public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the key must be an Ed25519 public key")
    return key


def public_key_pem(private_pem: str) -> str:
    """The PEM public key of a signing key (what SESSION_PREVIOUS_PUBLIC_KEY takes)."""
    return (
        private_key(private_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint: the same key always gets the same `kid`, no setting needed."""
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": _b64url(_raw(key))}, separators=(",", ":")
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """RFC 8037 OKP key, as published in the JWKS."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(_raw(key)),
        "kid": key_id(key),
        "alg": ALGORITHM,
        "use": "sig",
    }


def jwks(keys: Iterable[Ed25519PublicKey]) -> Jwks:
    return {"keys": [jwk(key) for key in keys]}


def keys_of(document: Any) -> dict[str, Ed25519PublicKey]:
    """kid -> key of the Ed25519 signing keys of a JWKS document; anything else is ignored."""
    found: dict[str, Ed25519PublicKey] = {}
    entries = document.get("keys") if isinstance(document, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") != "OKP":
            continue
        if entry.get("crv") != "Ed25519" or entry.get("use", "sig") != "sig":
            continue
        try:
            x = str(entry["x"])
            key = Ed25519PublicKey.from_public_bytes(
                base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            )
        except (KeyError, ValueError):
            continue
        found[str(entry.get("kid") or key_id(key))] = key
    return found


# --- signing (identity) ------------------------------------------------------------------


class TokenSigner:
    """Identity's side: signs with the current key, names it in the header."""

    def __init__(
        self, private_pem: str, *, ttl_s: int, issuer: str = ISSUER, audience: str = AUDIENCE
    ) -> None:
        self._key = private_key(private_pem)
        self.public_key = self._key.public_key()
        self.kid = key_id(self.public_key)
        self.ttl_s = ttl_s
        self._issuer = issuer
        self._audience = audience

    def sign(self, caller: Caller, *, now: datetime) -> str:
        issued = int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": caller.account_id,
            "sid": caller.session_id,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.ttl_s,
        }
        if caller.amr:
            claims["amr"] = list(caller.amr)
        if caller.auth_time is not None:
            claims["auth_time"] = caller.auth_time
        if caller.step_up_at is not None:
            claims["step_up_at"] = caller.step_up_at
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})


# --- verifying (every service) -----------------------------------------------------------


def unverified_kid(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise Unauthenticated("The access token is not valid.") from None
    kid = header.get("kid")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
        raise Unauthenticated("The access token is not valid.")
    return kid


def verify_with(
    token: str,
    key: Ed25519PublicKey,
    *,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    leeway_s: int = LEEWAY_S,
) -> Caller:
    """Signature (EdDSA only), issuer, audience, nbf and exp with a small leeway."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            leeway=leeway_s,
            options={"require": ["exp", "nbf", "iat", "sub", "sid", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The access token has expired: refresh it.") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("The access token is not valid.") from None
    return Caller(
        account_id=str(claims["sub"]),
        session_id=str(claims["sid"]),
        amr=_strings(claims.get("amr")),
        auth_time=_seconds(claims.get("auth_time")),
        step_up_at=_seconds(claims.get("step_up_at")),
    )


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def _seconds(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class LocalKeys:
    """Identity's own verifier: its current and previous keys, no fetch."""

    def __init__(self, keys: Iterable[Ed25519PublicKey], *, audience: str = AUDIENCE) -> None:
        self._keys = {key_id(key): key for key in keys}
        self._audience = audience

    async def verify(self, token: str) -> Caller:
        key = self._keys.get(unverified_kid(token))
        if key is None:
            raise Unauthenticated("The access token is not valid.")
        return verify_with(token, key, audience=self._audience)


class TokenVerifier:
    """Another service's side: verifies offline against identity's JWKS, cached.

    The key set is fetched on first use, again when a token names an unknown `kid` (identity
    rotated) and when the cache is older than `max_age_s` (a retired key stops verifying).
    Unknown kids cannot make it fetch more than once per `min_refetch_s`: a flood of forged
    tokens costs identity nothing. Identity unreachable with no usable key: 401, never a pass.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Any]],
        *,
        audience: str = AUDIENCE,
        issuer: str = ISSUER,
        leeway_s: int = LEEWAY_S,
        max_age_s: float = 600.0,
        min_refetch_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._audience = audience
        self._issuer = issuer
        self._leeway_s = leeway_s
        self._max_age_s = max_age_s
        self._min_refetch_s = min_refetch_s
        self._clock = clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    @classmethod
    def over_http(cls, jwks_url: str, **options: Any) -> TokenVerifier:
        async def fetch() -> Any:
            async with httpx.AsyncClient(timeout=5.0) as client:
                reply = await client.get(jwks_url)
                reply.raise_for_status()
                return reply.json()

        return cls(fetch, **options)

    async def _refresh(self, *, unless_fresher_than: float) -> None:
        async with self._lock:
            now = self._clock()
            if self._fetched_at is not None and now - self._fetched_at < unless_fresher_than:
                return  # another request refreshed meanwhile, or too soon to ask again
            self.fetches += 1
            try:
                document = await self._fetch()
            except (httpx.HTTPError, ValueError):
                self._fetched_at = now  # back off; keep the keys we have
                return
            self._keys = keys_of(document)
            self._fetched_at = now

    async def verify(self, token: str) -> Caller:
        kid = unverified_kid(token)
        if self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age_s:
            await self._refresh(unless_fresher_than=self._max_age_s)
        if kid not in self._keys:
            await self._refresh(unless_fresher_than=self._min_refetch_s)
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("The access token is not valid.")
        return verify_with(
            token, key, issuer=self._issuer, audience=self._audience, leeway_s=self._leeway_s
        )


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("Send `Authorization: Bearer <access token>`.")
    return authorization[7:].strip()


async def require_caller(
    request: Request, authorization: str | None = Header(default=None)
) -> Caller:
    """FastAPI dependency of every service but identity: the caller of a valid access token,
    verified offline with identity's keys (Runtime.tokens); 401 otherwise."""
    runtime = runtime_of(request)
    assert runtime.tokens is not None, "create_app wires the token verifier"
    return await runtime.tokens.verify(bearer_token(authorization))
