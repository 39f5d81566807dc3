"""Each service's AsyncAPI document is committed and current."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from devkit.asyncapi import EXTERNAL, SPECS, document, external_document
from shared.events import EXTERNAL_TOPICS, owner_of, payloads_on

pytestmark = pytest.mark.contract
DOCS = Path(__file__).parents[2] / "docs" / "asyncapi"


@pytest.mark.parametrize("service", sorted(SPECS))
def test_the_committed_asyncapi_document_matches_the_service(service: str) -> None:
    committed = json.loads((DOCS / f"{service}.json").read_text())
    assert committed == document(service), (
        f"docs/asyncapi/{service}.json is stale: run `make asyncapi` and commit it"
    )


def test_the_committed_external_document_matches_the_contracts() -> None:
    committed = json.loads((DOCS / f"{EXTERNAL}.json").read_text())
    assert committed == external_document(), (
        f"docs/asyncapi/{EXTERNAL}.json is stale: run `make asyncapi` and commit it"
    )


def test_ext_each_external_topic_is_documented_as_sent_by_its_own_producer() -> None:
    """EXT: the topics of billing, resources, CAM and complaints are described from their
    producers' side, said to be external, with the envelope of exactly their facts."""
    doc = json.loads((DOCS / f"{EXTERNAL}.json").read_text())
    assert "NOT part of the account center" in doc["info"]["description"]
    sent = {}
    for operation in doc["operations"].values():
        assert operation["action"] == "send"
        channel = resolve(doc, operation["channel"]["$ref"])
        (message_ref,) = operation["messages"]
        message = resolve(doc, resolve(doc, message_ref["$ref"])["$ref"])
        envelope = resolve(doc, message["payload"]["$ref"])
        sent[channel["address"]] = schema_names(doc, envelope["properties"]["payload"])
        owner = owner_of(channel["address"])
        assert f"Published by {owner}, an external producer" in channel["description"]
    assert sent == {t: {p.__name__ for p in payloads_on(t)} for t in EXTERNAL_TOPICS}


def test_published_events_are_described_with_their_payload_schemas() -> None:
    text = json.dumps(document("notifier"))
    assert "destination_masked" in text and "NotificationFailed" in text


def resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[unquote(part)]
    return node


def schema_names(doc: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """Names of the component schemas a schema is, or is one of."""
    if "$ref" in schema:
        return {unquote(schema["$ref"]).rsplit("/", 1)[1]}
    return {
        n
        for option in schema.get("anyOf", schema.get("oneOf", []))
        for n in schema_names(doc, option)
    }


@pytest.mark.parametrize("service", sorted(SPECS))
def test_every_consumed_message_is_described_by_the_envelope_of_the_types_handled(
    service: str,
) -> None:
    """Typed subscriptions (issue 7 item 6): what a subscriber takes is in the document, the
    envelope of exactly the event types its handlers declare, never an opaque `binary`."""
    doc = json.loads((DOCS / f"{service}.json").read_text())
    assert '"binary"' not in json.dumps(doc)
    received = [op for op in doc["operations"].values() if op["action"] == "receive"]
    assert received, f"{service} consumes nothing?"
    for operation in received:
        topic = resolve(doc, operation["channel"]["$ref"])["address"]
        (message_ref,) = operation["messages"]
        message = resolve(doc, resolve(doc, message_ref["$ref"])["$ref"])
        envelope = resolve(doc, message["payload"]["$ref"])
        assert {"event_id", "type", "version", "account_id", "payload"} <= set(
            envelope["properties"]
        )
        described = schema_names(doc, envelope["properties"]["payload"])
        on_topic = {p.__name__ for p in payloads_on(topic)}
        assert described and described <= on_topic, (topic, described)


NODE = shutil.which("node")
NPM = shutil.which("npm")
PARSER_DIR = Path(__file__).parents[2] / "tools" / "asyncapi"


@pytest.mark.skipif(
    NODE is None or NPM is None,
    reason="node and npm are not installed: the official AsyncAPI parser (@asyncapi/parser, "
    "an npm package) cannot run here",
)
def test_the_committed_documents_are_valid_under_the_official_asyncapi_parser() -> None:
    """`@asyncapi/parser` (pinned in tools/asyncapi/package-lock.json, installed there by this
    test on first run) reports no error and no warning for any committed document."""
    assert NODE is not None and NPM is not None
    parser = PARSER_DIR / "node_modules" / "@asyncapi" / "parser" / "package.json"
    if not parser.exists():
        install = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=PARSER_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert install.returncode == 0, f"npm ci failed:\n{install.stdout}\n{install.stderr}"
    documents = sorted(str(p) for p in DOCS.glob("*.json"))
    assert len(documents) == len(SPECS) + 1  # and the external producers' document
    result = subprocess.run(
        [NODE, "validate.cjs", *documents],
        cwd=PARSER_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"AsyncAPI parser:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("service", sorted(SPECS))
def test_every_consumed_topic_documents_its_dead_letter_topic_and_headers(service: str) -> None:
    """contracts/README.md: each `<topic>.dlq` a service writes is in its document, with the
    dlq.* headers and every reason."""
    doc = json.loads((DOCS / f"{service}.json").read_text())
    addresses = {channel["address"]: channel for channel in doc["channels"].values()}
    received = [
        resolve(doc, op["channel"]["$ref"])["address"]
        for op in doc["operations"].values()
        if op["action"] == "receive"
    ]
    for topic in received:
        channel = addresses.get(f"{topic}.dlq")
        assert channel is not None, f"{service}: {topic}.dlq is not documented"
        for word in ("dlq.reason", "dlq.error", "dlq.source.offset", "unknown_type", "invalid"):
            assert word in channel["description"], (topic, word)
