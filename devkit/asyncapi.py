"""`python -m devkit.asyncapi`: write each service's AsyncAPI document to docs/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from faststream.kafka import KafkaBroker

from services.cancellation.main import spec as cancellation
from services.identity.main import spec as identity
from services.notifier.main import spec as notifier
from services.verification.main import spec as verification
from shared.service import ServiceSpec, asyncapi_of, create_app

SPECS: dict[str, Callable[[], ServiceSpec]] = {
    "identity": identity,
    "verification": verification,
    "cancellation": cancellation,
    "notifier": notifier,
}


def document(name: str) -> dict[str, object]:
    """The service's AsyncAPI document, as the running service serves it at /asyncapi.json."""
    spec = SPECS[name]()
    if "dev_mode" in type(spec.settings).model_fields:
        # The document only describes topics and messages; nothing serves, so the refusal to
        # start on dev-only keys (outside dev mode) does not apply to writing it.
        spec.settings = spec.settings.model_copy(update={"dev_mode": True})
    app = create_app(spec)
    broker: KafkaBroker = app.state.broker
    data: dict[str, object] = json.loads(asyncapi_of(broker, spec).to_specification().to_json())
    return data


def main(out: Path = Path("docs/asyncapi")) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in SPECS:
        path = out / f"{name}.json"
        path.write_text(json.dumps(document(name), indent=2, sort_keys=True) + "\n")
        print(path)


if __name__ == "__main__":
    main()
