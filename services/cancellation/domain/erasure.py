"""CAN-7, ARCHITECTURE "Erasure": which services confirm the erasure of a cancelled account,
and what cancellation keeps of it as the audit record."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

# Every service that holds the person's data, in the order the operator's view shows them.
ERASING_SERVICES: tuple[str, ...] = ("identity", "verification", "notifier", "cancellation")

# What cancellation keeps once it erased its projections (README: "Erasure").
KEPT: tuple[str, ...] = (
    "account id, status and its dates",
    "application record: ids, states, times, reason codes, operator reason",
    "erasure confirmations",
    "operator actions",
)


def erasure_of(confirmed: Mapping[str, datetime]) -> dict[str, datetime | None]:
    """Per erasing service, when it confirmed (None: not yet); others are ignored."""
    return {service: confirmed.get(service) for service in ERASING_SERVICES}


def erasure_complete(confirmed: Mapping[str, datetime]) -> bool:
    """Every erasing service confirmed."""
    return all(service in confirmed for service in ERASING_SERVICES)
