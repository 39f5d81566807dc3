"""The second factors by name (PROT-2). A new one: its module, one entry."""

from __future__ import annotations

from services.identity.domain.flows import Factor
from services.identity.strategies.base import FactorVerifier
from services.identity.strategies.one_time_code import OneTimeCode
from services.identity.strategies.totp import Totp
from shared.events import Channel

FACTORS: dict[Factor, FactorVerifier] = {
    Factor.TOTP: Totp(),
    Factor.SMS: OneTimeCode(Channel.SMS),
    Factor.EMAIL: OneTimeCode(Channel.EMAIL),
}
