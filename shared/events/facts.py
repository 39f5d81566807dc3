"""What facts from systems that are not ours have in common (EXT).

Billing, resource inventory, CAM and complaints publish on their own topics, with contracts
we own: `shared/events/{billing,resources,cam,complaints}.py`. Every fact is closed
(`ClosedPayload`): the producers are other teams, so a misspelt field must be refused, not
read as absent, and we deploy our consumers before a producer starts sending a new field.

Where a consumer needs the current state (may this account cancel? may it change its
real-name?), the fact is a *standing*: a snapshot of the producer's state for one account at
`as_of`. A projection is then "the newest standing per account" (older `as_of` ignored), and
an account with no standing is *unknown*, which refuses (EXT: never "fine").
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, Strict, StringConstraints
from pydantic_core import PydanticCustomError

from shared.events.envelope import ACCOUNT_ID_PATTERN, ClosedPayload
from shared.events.topics import EXTERNAL_TOPICS, Topic

_BAD_TEXT = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def _printable(value: str) -> str:
    if _BAD_TEXT.search(value):
        raise PydanticCustomError(
            "text_invalid", "Text must not contain control characters or unpaired surrogates."
        )
    return value


# Amounts are integers in fen (1/100 yuan): no float rounding between two systems. Strict:
# 37.0, "37" or true is a producer's mistake to refuse, not to round.
Fen = Annotated[int, Strict(), Field(ge=0, le=10**15)]
Count = Annotated[int, Strict(), Field(ge=0, le=10**9)]
# A producer's id of something (a payment, a case): printable ASCII, no spaces.
Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_printable)]
# An account named in a payload (not the envelope's): never empty.
AccountRef = Annotated[str, StringConstraints(pattern=ACCOUNT_ID_PATTERN)]


class Fact(ClosedPayload):
    """Base of the facts external producers publish: closed, always about one account."""


class Standing(Fact):
    """A snapshot of what one external system holds about one account, at `as_of`."""

    snapshot = True

    as_of: AwareDatetime = Field(
        description="When the producer read these values, with its time zone. A consumer "
        "keeps the standing with the newest as_of per account and ignores an older one "
        "arriving late.",
        examples=["2026-11-23T15:00:00+08:00"],
    )


def owner_of(topic: Topic | str) -> str:
    """The system that produces on an external topic: `billing` for billing.events."""
    if topic not in EXTERNAL_TOPICS:
        raise ValueError(f"{topic} is not an external topic")
    return str(topic).split(".", 1)[0]
