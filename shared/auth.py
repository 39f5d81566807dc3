"""Access tokens: identity signs them (Ed25519); any service verifies them offline.

A token names the account and its session and lives `access_token_ttl_s` (minutes). Identity
also checks, on each request, that the session is still live in its Redis, so logout, a
password change or a freeze ends a session at once there; other services learn of frozen and
cancelled accounts from AccountStatusChanged within seconds and refuse them from their own
projection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.errors import AppError

ISSUER = "account-center-identity"


class Unauthenticated(AppError):
    status_code = 401
    code = "UNAUTHENTICATED"


@dataclass(frozen=True)
class Caller:
    """The authenticated account and session of a request."""

    account_id: str
    session_id: str


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
    """The PEM public key other services configure to verify tokens."""
    return (
        private_key(private_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign_access_token(key: Ed25519PrivateKey, caller: Caller, *, now: datetime, ttl_s: int) -> str:
    issued = int(now.timestamp())
    return jwt.encode(
        {
            "iss": ISSUER,
            "sub": caller.account_id,
            "sid": caller.session_id,
            "iat": issued,
            "exp": issued + ttl_s,
        },
        key,
        algorithm="EdDSA",
    )


def verify_access_token(token: str, key: Ed25519PublicKey) -> Caller:
    """Signature, issuer and expiry; raises Unauthenticated."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "sid", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The access token has expired: refresh it.") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("The access token is not valid.") from None
    return Caller(account_id=str(claims["sub"]), session_id=str(claims["sid"]))


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("Send `Authorization: Bearer <access token>`.")
    return authorization[7:].strip()
