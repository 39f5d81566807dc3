"""Identity's tokens, verified as another service would: offline, from /.well-known/jwks.json,
through a key rotation (ARCHITECTURE "Authentication across services"; issue 8 item 4)."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from devkit.testing.gateways import private_pem, public_pem
from devkit.testing.infra import Scope
from shared.auth import AUDIENCE, ISSUER, Caller, TokenVerifier
from tests.integration.identity.conftest import IdentityApp, identity_app

pytestmark = pytest.mark.integration


async def jwks_of(client: httpx.AsyncClient) -> dict[str, Any]:
    reply = await client.get("/.well-known/jwks.json")
    assert reply.status_code == 200, reply.text
    assert "max-age" in reply.headers["cache-control"]
    document: dict[str, Any] = reply.json()
    return document


# RFC 9864 names the fully specified "Ed25519"; "EdDSA" is what PyJWT and most verifiers read.
@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
async def test_a_login_token_verifies_with_an_independent_jose_library(
    identity: IdentityApp,
) -> None:
    """joserfc (used nowhere else in the project) verifies identity's token from its JWKS."""
    reply = await identity.register_email("jose@example.com")
    account_id = reply.json()["account_id"]
    token = (await identity.login("jose@example.com")).json()["access_token"]
    document = await jwks_of(identity.client)

    keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
    verified = jose_jwt.decode(token, keys, algorithms=["EdDSA"])
    claims = jose_jwt.JWTClaimsRegistry(
        leeway=10,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        sub={"essential": True, "value": account_id},
        exp={"essential": True},
        nbf={"essential": True},
    )
    claims.validate(verified.claims)
    assert verified.header["kid"] == document["keys"][0]["kid"]
    assert [(k["kty"], k["crv"], k["alg"]) for k in document["keys"]] == [
        ("OKP", "Ed25519", "EdDSA")
    ]


async def test_rotation_previous_key_tokens_still_verify_and_the_new_kid_is_picked_up(
    scope: Scope,
) -> None:
    """Identity restarts with a new signing key and the old one as previous: a token signed
    before keeps working (at identity and at a verifying service), new tokens carry the new
    kid, which the verifying service fetches once; a key two rotations old stops verifying."""
    old, new, newer = (Ed25519PrivateKey.generate() for _ in range(3))
    serving: list[httpx.AsyncClient] = []

    async def fetch() -> Any:
        return await jwks_of(serving[-1])

    verifier = TokenVerifier(fetch, min_refetch_s=0.0)
    async with identity_app(scope, session_signing_key=private_pem(old)) as identity:
        serving.append(identity.client)
        account_id = (await identity.register_email("rota@example.com")).json()["account_id"]
        old_token = (await identity.login("rota@example.com")).json()["access_token"]
        assert (await verifier.verify(old_token)).account_id == account_id
        assert verifier.fetches == 1

    rotated = {
        "session_signing_key": private_pem(new),
        "session_previous_public_key": public_pem(old),
    }
    async with identity_app(scope, **rotated) as identity:
        serving.append(identity.client)
        kids = [k["kid"] for k in (await jwks_of(identity.client))["keys"]]
        assert len(kids) == 2
        auth = {"authorization": f"Bearer {old_token}"}
        assert (await identity.client.get("/v1/me", headers=auth)).status_code == 200
        assert (await verifier.verify(old_token)).account_id == account_id
        assert verifier.fetches == 1  # a known kid needs no fetch

        new_token = (await identity.login("rota@example.com")).json()["access_token"]
        caller = await verifier.verify(new_token)
        assert isinstance(caller, Caller) and caller.account_id == account_id
        assert verifier.fetches == 2
        assert jwt.get_unverified_header(new_token)["kid"] == kids[0] != kids[1]

    again = {
        "session_signing_key": private_pem(newer),
        "session_previous_public_key": public_pem(new),
    }
    async with identity_app(scope, **again) as identity:
        auth = {"authorization": f"Bearer {old_token}"}
        refused = await identity.client.get("/v1/me", headers=auth)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
