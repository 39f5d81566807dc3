"""RN-13: what a re-check of a verified enterprise against the registry finds. Pure."""

from __future__ import annotations

from services.verification.domain.enterprise import RegistryRecord, normalise_name
from services.verification.domain.status import Reason


def recheck_problem(record: RegistryRecord | None, name: str, uscc: str) -> Reason | None:
    """None when the registry still knows the code under the name; else why the account
    is to turn unverified: deregistered, or a mismatch (another name, or the code gone)."""
    if record is None or record.uscc != uscc:
        return Reason.REGISTRY_MISMATCH
    if record.deregistered:
        return Reason.ENTITY_DEREGISTERED
    if normalise_name(record.name) != normalise_name(name):
        return Reason.REGISTRY_MISMATCH
    return None
