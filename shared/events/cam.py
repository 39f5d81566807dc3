"""Facts CAM (access management, sub-accounts) publishes on cam.events (EXT): not ours."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from shared.events.facts import AccountRef, Count, Fact, Standing
from shared.events.topics import Topic


class CamStanding(Standing):
    """Who else has a hand in one account (CAN-2: none may be left at cancellation)."""

    event_type = "CamStanding"
    topic = Topic.CAM_EVENTS

    collaborators: Count = Field(
        description="Collaborators: other accounts granted access to this one; 0 when none.",
        examples=[0],
    )
    sub_users: Count = Field(
        description="Sub-users (CAM users) created under this root account; 0 when none.",
        examples=[0, 2],
    )
    message_recipients: Count = Field(
        description="Message recipients set up besides the account itself; 0 when none.",
        examples=[0],
    )


class SubAccountCreated(Fact):
    """A root account created this account (the envelope's) as its sub-account: it
    inherits the root's real-name (RN-12)."""

    event_type = "SubAccountCreated"
    topic = Topic.CAM_EVENTS

    root_account_id: AccountRef = Field(
        description="The root account that created it; never the envelope's account.",
        examples=["100000000001"],
    )
    created_at: AwareDatetime = Field(
        description="When, with its time zone.", examples=["2026-11-23T15:00:00+08:00"]
    )


class SubAccountAssociated(Fact):
    """An existing account (the envelope's) became a sub-account of a root account: it must
    be verified itself, it inherits nothing (RN-12)."""

    event_type = "SubAccountAssociated"
    topic = Topic.CAM_EVENTS

    root_account_id: AccountRef = Field(
        description="The root account it is now associated with; never the envelope's account.",
        examples=["100000000001"],
    )
    associated_at: AwareDatetime = Field(
        description="When, with its time zone.", examples=["2026-11-23T15:00:00+08:00"]
    )
