"""REG-6 and LOGIN-1: identity assertions and captcha tickets through provider adapters.

Real WeChat/QQ/WeCom OAuth and a commercial captcha run upstream, in gateways that hand the
console a signed assertion or ticket; an adapter here verifies it offline. The `signed`
adapters verify the gateways' Ed25519 signatures with their public keys (production); the
fake ones (fakes.py) sign with a shared key (HS256) and can mint, for dev mode and tests only.
"""

from __future__ import annotations

from typing import Any

import jwt

from services.identity.service_layer.ports import SolvedCaptcha, VerifiedAssertion
from shared.auth import public_key
from shared.errors import AppError
from shared.events import LoginMethodKind

OFFICIAL_SUBTYPES = frozenset({"official_account", "mini_program"})
CAPTCHA_ISSUER = "captcha"
CLOCK_LEEWAY_S = 5


class AssertionInvalid(AppError):
    status_code = 401
    code = "ASSERTION_INVALID"


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
