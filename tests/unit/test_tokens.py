"""Access tokens other services verify offline and identity rotates (ARCHITECTURE
"Authentication across services"): kid, iss, aud, nbf, a small leeway, a cached JWKS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI

from devkit.testing.gateways import private_pem
from shared.auth import (
    AUDIENCE,
    ISSUER,
    LEEWAY_S,
    Caller,
    StepUpRequired,
    TokenSigner,
    TokenVerifier,
    Unauthenticated,
    jwks,
    key_id,
    require_caller,
    require_step_up,
    verify_with,
)
from shared.errors import install_error_handlers
from shared.service import create_app

pytestmark = pytest.mark.unit
CALLER = Caller(account_id="100000000001", session_id="s-1")


def signer(ttl_s: int = 300) -> TokenSigner:
    return TokenSigner(private_pem(Ed25519PrivateKey.generate()), ttl_s=ttl_s)


class Identity:
    """Identity's JWKS endpoint, counted."""

    def __init__(self, *signers: TokenSigner) -> None:
        self.signers = list(signers)

    async def fetch(self) -> Any:
        return jwks(s.public_key for s in self.signers)

    def verifier(self, **options: Any) -> TokenVerifier:
        return TokenVerifier(self.fetch, **options)


async def test_a_token_names_its_key_issuer_audience_and_not_before() -> None:
    current = signer()
    token = current.sign(CALLER, now=datetime.now(UTC))

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": current.kid}
    assert current.kid == key_id(current.public_key)
    assert (claims["iss"], claims["aud"], claims["sub"], claims["sid"]) == (
        ISSUER,
        AUDIENCE,
        "100000000001",
        "s-1",
    )
    assert claims["nbf"] == claims["iat"] == claims["exp"] - 300
    assert await Identity(current).verifier().verify(token) == CALLER


@pytest.mark.parametrize(
    ("issued_s_ago", "accepted"),
    [
        (-(LEEWAY_S - 2), True),  # the signer's clock runs a little ahead: nbf within leeway
        (-(LEEWAY_S + 30), False),  # not yet valid
        (300 + LEEWAY_S - 2, True),  # expired, but within the leeway
        (300 + LEEWAY_S + 30, False),  # expired
    ],
)
async def test_clock_skew_is_allowed_only_within_the_leeway(
    issued_s_ago: int, accepted: bool
) -> None:
    current = signer(ttl_s=300)
    token = current.sign(CALLER, now=datetime.now(UTC) - timedelta(seconds=issued_s_ago))
    verifier = Identity(current).verifier()

    if accepted:
        assert await verifier.verify(token) == CALLER
    else:
        with pytest.raises(Unauthenticated):
            await verifier.verify(token)


async def test_another_audience_issuer_algorithm_or_key_is_refused() -> None:
    current = signer()
    verifier = Identity(current).verifier()
    now = datetime.now(UTC)
    good = jwt.decode(current.sign(CALLER, now=now), options={"verify_signature": False})
    stranger = Ed25519PrivateKey.generate()
    forged = [
        TokenSigner(private_pem(stranger), ttl_s=300, audience="elsewhere").sign(CALLER, now=now),
        TokenSigner(private_pem(stranger), ttl_s=300, issuer="someone").sign(CALLER, now=now),
        jwt.encode(good, stranger, algorithm="EdDSA", headers={"kid": current.kid}),
        jwt.encode(good, "s" * 32, algorithm="HS256", headers={"kid": current.kid}),
        jwt.encode(good, "", algorithm="none", headers={"kid": current.kid}),
        "not-a-token",
    ]
    for token in forged:
        with pytest.raises(Unauthenticated):
            await verifier.verify(token)


async def test_rotation_previous_key_still_verifies_and_a_new_kid_is_fetched() -> None:
    old, new = signer(), signer()
    identity = Identity(old)
    verifier = identity.verifier(min_refetch_s=0.0)
    old_token = old.sign(CALLER, now=datetime.now(UTC))
    assert await verifier.verify(old_token) == CALLER
    assert verifier.fetches == 1

    identity.signers = [new, old]  # rotated: the new key signs, the old one is still listed
    assert await verifier.verify(old_token) == CALLER
    assert verifier.fetches == 1  # cached, no fetch for a known kid
    assert await verifier.verify(new.sign(CALLER, now=datetime.now(UTC))) == CALLER
    assert verifier.fetches == 2  # the unknown kid made it fetch once


async def test_unknown_kids_cannot_make_the_verifier_hammer_identity() -> None:
    now = [0.0]
    current = signer()
    verifier = Identity(current).verifier(min_refetch_s=5.0, clock=lambda: now[0])
    assert await verifier.verify(current.sign(CALLER, now=datetime.now(UTC))) == CALLER
    stranger = Ed25519PrivateKey.generate()
    claims = jwt.decode(
        current.sign(CALLER, now=datetime.now(UTC)), options={"verify_signature": False}
    )

    for _ in range(50):
        token = jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": uuid.uuid4().hex})
        with pytest.raises(Unauthenticated):
            await verifier.verify(token)
    assert verifier.fetches == 1
    now[0] = 6.0
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)
    assert verifier.fetches == 2


async def test_identity_unreachable_refuses_rather_than_passes() -> None:
    async def down() -> Any:
        raise httpx.ConnectError("refused")

    token = signer().sign(CALLER, now=datetime.now(UTC))
    with pytest.raises(Unauthenticated):
        await TokenVerifier(down).verify(token)


async def test_other_services_authenticate_callers_through_require_caller() -> None:
    """The runtime package's dependency: what verification and cancellation put on routes."""
    current = signer()
    app = FastAPI()
    install_error_handlers(app)
    app.state.runtime = SimpleNamespace(tokens=Identity(current).verifier())

    @app.get("/whoami")
    async def whoami(who: Caller = Depends(require_caller)) -> dict[str, str]:
        return {"account_id": who.account_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        token = current.sign(CALLER, now=datetime.now(UTC))
        ok = await client.get("/whoami", headers={"authorization": f"Bearer {token}"})
        anonymous = await client.get("/whoami")
    assert ok.json() == {"account_id": CALLER.account_id}
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "UNAUTHENTICATED"


def test_every_service_is_wired_with_a_verifier_of_identity_s_jwks() -> None:
    from services.cancellation.main import spec as cancellation
    from services.notifier.main import spec as notifier
    from services.verification.main import spec as verification
    from services.verification.settings import VerificationSettings

    for spec in (verification(VerificationSettings(dev_mode=True)), cancellation(), notifier()):
        assert isinstance(create_app(spec).state.runtime.tokens, TokenVerifier)


# --- step-up (PROT-1 across services) ----------------------------------------------------


def test_prot_1_a_token_carries_how_its_session_was_authenticated() -> None:
    key = Ed25519PrivateKey.generate()
    stepped = Caller(
        account_id="100000000001",
        session_id="s-1",
        amr=("pwd", "otp"),
        auth_time=1_790_000_000,
        step_up_at=1_790_000_100,
    )
    token = TokenSigner(private_pem(key), ttl_s=300).sign(stepped, now=datetime.now(UTC))
    assert verify_with(token, key.public_key()) == stepped


def test_prot_1_a_token_without_step_up_claims_still_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    token = TokenSigner(private_pem(key), ttl_s=300).sign(CALLER, now=datetime.now(UTC))
    verified = verify_with(token, key.public_key())
    assert (verified.amr, verified.auth_time, verified.step_up_at) == ((), None, None)


@pytest.mark.parametrize(
    ("step_up_at", "fresh"),
    [(None, False), (1_000, True), (1_000 - 300, True), (1_000 - 301, False)],
)
def test_prot_1_require_step_up_accepts_only_a_fresh_second_factor(
    step_up_at: int | None, fresh: bool
) -> None:
    caller = Caller(account_id="1", session_id="s", amr=("pwd", "sms"), step_up_at=step_up_at)
    if fresh:
        require_step_up(caller, 300, now=1_000)
        return
    with pytest.raises(StepUpRequired) as refused:
        require_step_up(caller, 300, now=1_000)
    assert refused.value.code == "STEP_UP_REQUIRED"
    assert refused.value.details["step_up"] == "POST /v1/me/step-up"
