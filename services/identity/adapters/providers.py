"""REG-6 and LOGIN-1: identity assertions and captcha tickets through provider adapters.

Real WeChat/QQ/WeCom OAuth and a commercial captcha run upstream, in gateways that hand the
console a signed assertion or ticket; an adapter here verifies it offline. The `signed`
adapters verify the gateways' Ed25519 signatures with their public keys (production); the
fake ones sign with a shared key (HS256) and can mint, for dev mode and tests only.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt

from shared.auth import public_key
from shared.errors import AppError
from shared.events import LoginMethodKind

ACCOUNT_SERVICE_PERMISSION = "account_service"
OFFICIAL_SUBTYPES = frozenset({"official_account", "mini_program"})
CAPTCHA_ISSUER = "captcha"
CLOCK_LEEWAY_S = 5


class AssertionInvalid(AppError):
    status_code = 401
    code = "ASSERTION_INVALID"


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


class IdentityProvider(Protocol):
    def verify(self, kind: LoginMethodKind, assertion: str) -> VerifiedAssertion: ...


class CaptchaProvider(Protocol):
    def verify(self, ticket: str) -> SolvedCaptcha | None:
        """The ticket's claims when its signature, issuer and expiry hold; None otherwise.
        Single use and the binding to an identifier are checked by the caller."""
        ...


class SignedAssertions:
    """Verifies assertions of the OAuth gateway: one issuer per kind, our audience."""

    def __init__(self, key: Any, algorithm: str, audience: str, issuer_prefix: str) -> None:
        self._key = key
        self._algorithm = algorithm
        self._audience = audience
        self._issuer_prefix = issuer_prefix

    @classmethod
    def ed25519(cls, public_pem: str, audience: str) -> SignedAssertions:
        return cls(public_key(public_pem), "EdDSA", audience, "oauth-gateway-")

    def verify(self, kind: LoginMethodKind, assertion: str) -> VerifiedAssertion:
        if kind is LoginMethodKind.EMAIL:
            raise AssertionInvalid("Email is not a third-party login method.")
        try:
            claims = jwt.decode(
                assertion,
                self._key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=f"{self._issuer_prefix}{kind.value}",
                leeway=CLOCK_LEEWAY_S,
                options={"require": ["exp", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise AssertionInvalid("The identity assertion has expired.") from None
        except jwt.InvalidTokenError as exc:
            raise AssertionInvalid(f"The identity assertion is not valid: {exc}") from None
        if kind is LoginMethodKind.WECHAT:
            # LM-7: a WeChat person is their UnionID; the OpenID differs per app.
            if not claims.get("unionid"):
                raise AssertionInvalid("A WeChat assertion must carry the UnionID.")
            return VerifiedAssertion(kind, claims["unionid"], display=claims.get("nickname", ""))
        if kind is LoginMethodKind.OFFICIAL_ACCOUNT:
            subtype = claims.get("subtype")
            if subtype not in OFFICIAL_SUBTYPES:
                raise AssertionInvalid("An Official Account assertion names its subtype.")
            return VerifiedAssertion(
                kind,
                claims["app_id"],
                subtype=subtype,
                open_platform_id=claims.get("open_platform_id"),
                permissions=frozenset(claims.get("permissions", [])),
                authorization_revoked=bool(claims.get("revoked")),
                display=claims.get("nickname", ""),
            )
        if not claims.get("openid"):
            raise AssertionInvalid("The identity assertion names no openid.")
        return VerifiedAssertion(kind, claims["openid"], display=claims.get("nickname", ""))


class FakeIdentityProvider(SignedAssertions):
    """Mints and verifies HS256 assertions (dev mode and tests only)."""

    def __init__(self, secret: str, audience: str) -> None:
        super().__init__(secret, "HS256", audience, "fake-")
        self._secret = secret
        self._audience = audience

    def mint(
        self,
        kind: LoginMethodKind,
        *,
        openid: str | None = None,
        unionid: str | None = None,
        app_id: str | None = None,
        subtype: str | None = None,
        open_platform_id: str | None = None,
        permissions: list[str] | None = None,
        revoked: bool = False,
        nickname: str = "",
        ttl_s: int = 300,
        audience: str | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": f"fake-{kind.value}",
            "aud": audience or self._audience,
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
            "openid": openid or uuid.uuid4().hex,
            "nickname": nickname,
        }
        if unionid is not None:
            claims["unionid"] = unionid
        if kind is LoginMethodKind.OFFICIAL_ACCOUNT:
            claims["app_id"] = app_id or f"wx{uuid.uuid4().hex[:16]}"
            claims["subtype"] = subtype or "official_account"
            claims["open_platform_id"] = open_platform_id
            claims["permissions"] = (
                permissions if permissions is not None else [ACCOUNT_SERVICE_PERMISSION]
            )
            claims["revoked"] = revoked
        return jwt.encode(claims, self._secret, algorithm="HS256")


class SignedCaptcha:
    """Verifies tickets of the captcha gateway: `jti` (single use), `sub` (the identifier
    the captcha was solved for) and a short `exp`."""

    def __init__(self, key: Any, algorithm: str) -> None:
        self._key = key
        self._algorithm = algorithm

    @classmethod
    def ed25519(cls, public_pem: str) -> SignedCaptcha:
        return cls(public_key(public_pem), "EdDSA")

    def verify(self, ticket: str) -> SolvedCaptcha | None:
        try:
            claims = jwt.decode(
                ticket,
                self._key,
                algorithms=[self._algorithm],
                issuer=CAPTCHA_ISSUER,
                leeway=CLOCK_LEEWAY_S,
                options={"require": ["exp", "jti", "sub", "iss"]},
            )
        except jwt.InvalidTokenError:
            return None
        return SolvedCaptcha(str(claims["jti"]), str(claims["sub"]), int(claims["exp"]))


class FakeCaptcha(SignedCaptcha):
    """Mints and verifies HS256 tickets (dev mode and tests only)."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret, "HS256")
        self._secret = secret

    def mint(self, identifier: str, ttl_s: int = 120) -> str:
        now = int(time.time())
        claims = {
            "iss": CAPTCHA_ISSUER,
            "sub": identifier,
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")
