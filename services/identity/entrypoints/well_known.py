"""/.well-known/jwks.json: the public keys other services verify identity's tokens with."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from services.identity.bootstrap import verification_keys
from services.identity.entrypoints.dependencies import context
from services.identity.service_layer.context import IdentityContext
from shared.auth import JWKS_PATH, jwks

router = APIRouter(tags=["tokens"])

# Verifiers refetch on an unknown kid anyway; the cache only spares identity the traffic.
CACHE_CONTROL = "public, max-age=300"


class Jwk(BaseModel):
    kty: str = Field(description="OKP (RFC 8037).", examples=["OKP"])
    crv: str = Field(description="Ed25519.", examples=["Ed25519"])
    x: str = Field(description="The public key, base64url.")
    kid: str = Field(description="RFC 7638 thumbprint; the `kid` of the tokens it signed.")
    alg: str = Field(description="EdDSA.", examples=["EdDSA"])
    use: str = Field(description="sig.", examples=["sig"])


class JwkSet(BaseModel):
    keys: list[Jwk] = Field(description="The current signing key first, then the previous one.")


@router.get(JWKS_PATH, response_model=JwkSet)
async def json_web_key_set(response: Response, ctx: IdentityContext = Depends(context)) -> JwkSet:
    """The current and previous public keys of the access tokens (RFC 7517)."""
    response.headers["cache-control"] = CACHE_CONTROL
    return JwkSet.model_validate(jwks(verification_keys(ctx.settings)))
