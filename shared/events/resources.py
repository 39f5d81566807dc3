"""Facts the resource inventory publishes on resources.events (EXT): not our producer."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, StringConstraints, model_validator

from shared.events.facts import Count, Standing
from shared.events.topics import Topic

Product = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]


class ResourcesStanding(Standing):
    """The resources one account holds (CAN-2: none may be in use at cancellation)."""

    event_type = "ResourcesStanding"
    topic = Topic.RESOURCES_EVENTS

    resources_in_use: Count = Field(
        description="Resources the account holds and has not released (instances, disks, "
        "buckets, domains, ...), whatever their product; 0 when none.",
        examples=[0, 3],
    )
    products: list[Product] = Field(
        max_length=200,
        description="Product codes of the resources in use, each once, so a refusal can "
        "say what to release; empty exactly when resources_in_use is 0.",
        examples=[[], ["cvm", "cos"]],
    )

    @model_validator(mode="after")
    def _products_match_the_count(self) -> Self:
        if len(set(self.products)) != len(self.products):
            raise ValueError("products: each product at most once")
        if (self.resources_in_use == 0) != (not self.products):
            raise ValueError("products: empty exactly when resources_in_use is 0")
        return self
