"""REG-6 and LOGIN-1: identity assertions and captcha tickets through provider adapters.

Real WeChat/QQ/WeCom OAuth and a commercial captcha run upstream; they hand us a signed
assertion or ticket that an adapter verifies. The fake providers here sign with a shared key
(HS256) and serve dev and tests; a real adapter implements the same two protocols.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt

from shared.errors import AppError
from shared.events import LoginMethodKind

ACCOUNT_SERVICE_PERMISSION = "account_service"
OFFICIAL_SUBTYPES = frozenset({"official_account", "mini_program"})


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


class IdentityProvider(Protocol):
    def verify(self, kind: LoginMethodKind, assertion: str) -> VerifiedAssertion: ...


class CaptchaProvider(Protocol):
    def verify(self, ticket: str) -> bool: ...


class FakeIdentityProvider:
    """Mints and verifies HS256 assertions, one issuer per kind."""

    def __init__(self, secret: str, audience: str) -> None:
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

    def verify(self, kind: LoginMethodKind, assertion: str) -> VerifiedAssertion:
        if kind is LoginMethodKind.EMAIL:
            raise AssertionInvalid("Email is not a third-party login method.")
        try:
            claims = jwt.decode(
                assertion,
                self._secret,
                algorithms=["HS256"],
                audience=self._audience,
                issuer=f"fake-{kind.value}",
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
        return VerifiedAssertion(kind, claims["openid"], display=claims.get("nickname", ""))


class FakeCaptcha:
    """Tickets are short-lived HS256 tokens, as a commercial captcha's server check would be."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def mint(self, ttl_s: int = 120) -> str:
        now = int(time.time())
        return jwt.encode(
            {"iss": "fake-captcha", "iat": now, "exp": now + ttl_s, "jti": uuid.uuid4().hex},
            self._secret,
            algorithm="HS256",
        )

    def verify(self, ticket: str) -> bool:
        try:
            jwt.decode(ticket, self._secret, algorithms=["HS256"], issuer="fake-captcha")
        except jwt.InvalidTokenError:
            return False
        return True
