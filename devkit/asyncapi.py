"""`python -m devkit.asyncapi`: write each service's AsyncAPI document to docs/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Union

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from services.cancellation.main import spec as cancellation
from services.identity.main import spec as identity
from services.notifier.main import spec as notifier
from services.verification.main import spec as verification
from shared.events import EXTERNAL_TOPICS, Envelope, owner_of, payloads_on
from shared.service import ServiceSpec, asyncapi_of, create_app

SPECS: dict[str, Callable[..., ServiceSpec]] = {
    "identity": identity,
    "verification": verification,
    "cancellation": cancellation,
    "notifier": notifier,
}


def document(name: str) -> dict[str, object]:
    """The service's AsyncAPI document, as the running service serves it at /asyncapi.json."""
    make = SPECS[name]
    spec = make()
    if "dev_mode" in type(spec.settings).model_fields:
        # The document only describes topics and messages; nothing serves, so the refusal to
        # start on dev-only keys (outside dev mode) does not apply to writing it. The spec is
        # made again from these settings: its wiring closes over the settings it was made with.
        spec = make(spec.settings.model_copy(update={"dev_mode": True}))
    app = create_app(spec)
    broker: KafkaBroker = app.state.broker
    data: dict[str, object] = json.loads(asyncapi_of(broker, spec).to_specification().to_json())
    return data


# The document of the topics whose producers are not ours (EXT): what they must send.
EXTERNAL = "external"
EXTERNAL_DESCRIPTION = (
    "Topics written by systems that are NOT part of the account center: billing, the "
    "resource inventory, CAM (sub-users, collaborators, sub-accounts) and complaints. The "
    "account center owns their contracts (shared/events/{billing,resources,cam,complaints}"
    ".py, contracts/schemas/), not their producers. Every fact is closed (an unknown field "
    "is refused) and keyed by the account it is about. A *Standing is a snapshot of the "
    "producer's state for one account at as_of: consumers keep the newest per account, and "
    "an account with none is unknown, which refuses (EXT). For development, demos and tests, "
    "`account-center-produce` publishes any of these facts."
)


def external_document() -> dict[str, object]:
    """AsyncAPI of the external topics, as their producers' side: what each must send."""
    broker = KafkaBroker("127.0.0.1:9092")  # described, never connected
    for topic in sorted(EXTERNAL_TOPICS):
        payloads = payloads_on(topic)
        union: Any = payloads[0] if len(payloads) == 1 else Union[tuple(payloads)]  # noqa: UP007
        owner = owner_of(topic)
        broker.publisher(
            str(topic),
            title=f"{owner}:{topic}",
            description=f"Published by {owner}, an external producer (not an account center "
            f"service): " + ", ".join(p.event_type for p in payloads) + ". Message key: the "
            "account_id; envelope producer: " + owner + ".",
            schema=Envelope[union],
        )
    spec = AsyncAPI(
        broker,
        title="External producers (billing, resources, CAM, complaints)",
        version="0.1.0",
        description=EXTERNAL_DESCRIPTION,
    )
    data: dict[str, object] = json.loads(spec.to_specification().to_json())
    return data


def main(out: Path = Path("docs/asyncapi")) -> None:
    out.mkdir(parents=True, exist_ok=True)
    documents = {name: document(name) for name in SPECS}
    documents[EXTERNAL] = external_document()
    for name, data in documents.items():
        path = out / f"{name}.json"
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        print(path)


if __name__ == "__main__":
    main()
