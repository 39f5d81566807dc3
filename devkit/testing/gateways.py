"""Production-like identity settings for tests: fresh keys, and the upstream gateways (OAuth,
captcha) that sign assertions and tickets with their own Ed25519 keys."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def private_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class Gateway:
    """An OAuth or captcha gateway: what a production identity trusts through a public key."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def public_pem(self) -> str:
        return public_pem(self.key)

    def assertion(self, kind: str, audience: str = "account-center", **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": f"oauth-gateway-{kind}",
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "openid": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="EdDSA")

    def captcha_ticket(self, identifier: str, ttl_s: int = 120) -> str:
        now = int(time.time())
        body = {"iss": "captcha", "sub": identifier, "iat": now, "exp": now + ttl_s}
        return jwt.encode({**body, "jti": uuid.uuid4().hex}, self.key, algorithm="EdDSA")


@dataclass
class ProductionKeys:
    """Identity settings that may start outside dev mode, and the gateways they trust."""

    oauth: Gateway = field(default_factory=Gateway)
    captcha: Gateway = field(default_factory=Gateway)
    signing_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    code_hmac_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    mfa_key: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode())

    def settings(self) -> dict[str, Any]:
        return {
            "dev_mode": False,
            "identity_provider": "signed",
            "identity_provider_public_key": self.oauth.public_pem,
            "captcha_provider": "signed",
            "captcha_public_key": self.captcha.public_pem,
            "session_signing_key": private_pem(self.signing_key),
            "code_hmac_key": self.code_hmac_key,
            "mfa_encryption_keys": f"k1:{self.mfa_key}",
        }
