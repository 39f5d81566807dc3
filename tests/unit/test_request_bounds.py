"""Every string a client can send to identity or the notifier has a length cap (issue 8
item 2; ASVS 5.1.4): read from the OpenAPI documents the services serve."""

from __future__ import annotations

from typing import Any

import pytest

from services.identity.main import spec as identity_spec
from services.identity.settings import IdentitySettings
from services.notifier.main import spec as notifier_spec
from services.notifier.settings import NotifierSettings
from shared.service import ServiceSpec, create_app

pytestmark = pytest.mark.unit
BOUNDED_FORMATS = {"uuid", "date-time", "date"}


def unbounded_strings(document: dict[str, Any]) -> list[str]:
    components = document.get("components", {}).get("schemas", {})
    found: list[str] = []

    def walk(schema: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], f"{where}<{name}>", seen | {name})
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(key, []):
                walk(option, where, seen)
        if schema.get("type") == "string":
            bounded = "maxLength" in schema or "enum" in schema or "const" in schema
            if not bounded and schema.get("format") not in BOUNDED_FORMATS:
                found.append(where)
        for name, prop in schema.get("properties", {}).items():
            walk(prop, f"{where}.{name}", seen)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]", seen)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            here = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "path"):
                    walk(parameter["schema"], f"{here} ?{parameter['name']}", frozenset())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                walk(content["schema"], f"{here} body", frozenset())
    return found


@pytest.mark.parametrize(
    "service",
    [identity_spec(IdentitySettings(dev_mode=True)), notifier_spec(NotifierSettings())],
    ids=["identity", "notifier"],
)
def test_every_string_a_client_sends_has_a_length_cap(service: ServiceSpec) -> None:
    document = create_app(service).openapi()

    assert unbounded_strings(document) == []
