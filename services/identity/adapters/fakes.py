"""The fake identity provider and captcha: they sign with a shared key (HS256) and can mint.

Dev mode and tests only: bootstrap wires them when IDENTITY_PROVIDER / CAPTCHA_PROVIDER say
`fake`, which settings.refusals() allows in dev mode only; the /v1/dev router (mounted in dev
mode only) mints with them.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from services.identity.adapters.providers import CAPTCHA_ISSUER, SignedAssertions, SignedCaptcha
from services.identity.domain.login_methods import ACCOUNT_SERVICE_PERMISSION
from services.identity.service_layer.ports import CaptchaProvider, IdentityProvider
from shared.errors import NotFound
from shared.events import LoginMethodKind


class FakeNotSelected(NotFound):
    code = "FAKE_PROVIDER_NOT_SELECTED"


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


def minting_idp(idp: IdentityProvider) -> FakeIdentityProvider:
    """The wired identity provider, when it is the fake (it can mint); 404 otherwise."""
    if not isinstance(idp, FakeIdentityProvider):
        raise FakeNotSelected("IDENTITY_PROVIDER is not `fake`: nothing to mint with.")
    return idp


def minting_captcha(captcha: CaptchaProvider) -> FakeCaptcha:
    """The wired captcha provider, when it is the fake (it can mint); 404 otherwise."""
    if not isinstance(captcha, FakeCaptcha):
        raise FakeNotSelected("CAPTCHA_PROVIDER is not `fake`: nothing to mint with.")
    return captcha
