"""Each service's AsyncAPI document is committed and current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.devtools.asyncapi import SPECS, document

pytestmark = pytest.mark.contract
DOCS = Path(__file__).parents[2] / "docs" / "asyncapi"


@pytest.mark.parametrize("service", sorted(SPECS))
def test_the_committed_asyncapi_document_matches_the_service(service: str) -> None:
    committed = json.loads((DOCS / f"{service}.json").read_text())
    assert committed == document(service), (
        f"docs/asyncapi/{service}.json is stale: run `make asyncapi` and commit it"
    )


def test_published_events_are_described_with_their_payload_schemas() -> None:
    text = json.dumps(document("notifier"))
    assert "destination_masked" in text and "NotificationFailed" in text
