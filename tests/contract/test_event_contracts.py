"""Event contracts: committed JSON Schemas, the breaking-change rule, and payload hygiene."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from shared.contracts import (
    REPO_ROOT,
    SCHEMA_DIR,
    breaking_changes,
    main,
    render,
    schema_of,
    schema_path,
    write_all,
)
from shared.events import (
    ALL_PAYLOADS,
    EXTERNAL_TOPICS,
    AccountContacts,
    ClosedPayload,
    Envelope,
    EventPayload,
    Fact,
    NotificationRequested,
)

pytestmark = pytest.mark.contract

PAYLOAD_IDS = [f"{p.event_type}.v{p.event_version}" for p in ALL_PAYLOADS]
REGENERATE = "python -m shared.contracts"


# --- the committed schemas --------------------------------------------------------------


def _committed(payload_cls: type[EventPayload]) -> dict[str, Any]:
    path = schema_path(payload_cls, REPO_ROOT)
    assert path.is_file(), (
        f"{path.relative_to(REPO_ROOT)} is missing: run `{REGENERATE}` and commit it."
    )
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("payload_cls", ALL_PAYLOADS, ids=PAYLOAD_IDS)
def test_no_breaking_change_against_the_committed_schema(
    payload_cls: type[EventPayload],
) -> None:
    changes = breaking_changes(_committed(payload_cls), schema_of(payload_cls))
    assert changes == [], (
        f"Breaking change to {payload_cls.event_type} v{payload_cls.event_version}; "
        "existing consumers would fail on it. Do not edit this version: add a new payload "
        f"class with event_version = {payload_cls.event_version + 1} (keep the old one), "
        "and list it in ALL_PAYLOADS.\n  " + "\n  ".join(changes)
    )


@pytest.mark.parametrize("payload_cls", ALL_PAYLOADS, ids=PAYLOAD_IDS)
def test_committed_schema_is_up_to_date(payload_cls: type[EventPayload]) -> None:
    path = schema_path(payload_cls, REPO_ROOT)
    _committed(payload_cls)
    assert path.read_text(encoding="utf-8") == render(schema_of(payload_cls)), (
        f"{path.relative_to(REPO_ROOT)} is out of date with the model: "
        f"run `{REGENERATE}` and commit the result."
    )


def test_every_committed_schema_belongs_to_a_payload() -> None:
    expected = {schema_path(p, REPO_ROOT).name for p in ALL_PAYLOADS}
    committed = {p.name for p in (REPO_ROOT / SCHEMA_DIR).glob("*.json")}
    orphans = sorted(committed - expected)
    assert orphans == [], (
        f"Schemas without a payload in ALL_PAYLOADS: {orphans}. Removing an event type or "
        "version breaks its consumers; if it is really retired, delete the file on purpose."
    )


def test_schema_path_and_title() -> None:
    payload_cls = ALL_PAYLOADS[0]
    name = f"{payload_cls.event_type}.v{payload_cls.event_version}"
    assert schema_path(payload_cls, Path("/r")) == Path(f"/r/contracts/schemas/{name}.json")
    assert schema_of(payload_cls)["title"] == name


def test_write_all_writes_stable_pretty_json(tmp_path: Path) -> None:
    paths = write_all(tmp_path)
    assert sorted(paths) == sorted(schema_path(p, tmp_path) for p in ALL_PAYLOADS)
    for payload_cls, path in zip(ALL_PAYLOADS, paths, strict=True):
        text = path.read_text(encoding="utf-8")
        schema = schema_of(payload_cls)
        assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert json.loads(text) == schema


def test_regenerating_refuses_to_overwrite_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_all(tmp_path)
    path = schema_path(ALL_PAYLOADS[0], tmp_path)
    tampered = json.loads(path.read_text(encoding="utf-8"))
    tampered["properties"]["gone"] = {"type": "string"}  # "committed" has a field now lost
    path.write_text(render(tampered), encoding="utf-8")

    assert main(["--root", str(tmp_path)]) == 1
    assert "$.gone: field removed" in capsys.readouterr().err
    assert json.loads(path.read_text(encoding="utf-8")) == tampered

    assert main(["--root", str(tmp_path), "--allow-breaking"]) == 0
    assert path.read_text(encoding="utf-8") == render(schema_of(ALL_PAYLOADS[0]))


# --- payload hygiene --------------------------------------------------------------------


def _models_in(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The model and every model nested in its fields."""
    seen: list[type[BaseModel]] = []

    def walk(cls: type[BaseModel]) -> None:
        if cls in seen:
            return
        seen.append(cls)
        for info in cls.model_fields.values():
            for arg in _type_args(info.annotation):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    walk(arg)

    walk(model)
    return seen


def _type_args(annotation: Any) -> list[Any]:
    args = [annotation]
    for sub in getattr(annotation, "__args__", ()):
        args.extend(_type_args(sub))
    return args


@pytest.mark.parametrize("payload_cls", ALL_PAYLOADS, ids=PAYLOAD_IDS)
def test_every_field_has_a_description(payload_cls: type[EventPayload]) -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in _models_in(payload_cls)
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert missing == [], f"Fields without Field(description=...): {missing}"


def test_every_envelope_field_has_a_description() -> None:
    missing = [n for n, info in Envelope.model_fields.items() if not info.description]
    assert missing == []


FORBIDDEN_IN_NAMES = ("password", "secret", "totp", "id_number", "bank_account")
# The one place a one-time code travels: the notifier's template parameters (CODE-3).
FREE_FORM_ALLOWED = {("NotificationRequested", "$.payload.params")}


def _field_paths(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, property schema) of every property under ``$.payload``, nested ones included."""
    defs: dict[str, Any] = schema.get("$defs", {})
    found: list[tuple[str, dict[str, Any]]] = []

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **_drop(node, "$ref")}
        return node

    def walk(node: dict[str, Any], path: str, seen: frozenset[str]) -> None:
        ref = node.get("$ref")
        if ref in seen:
            return
        seen = seen | {ref} if isinstance(ref, str) else seen
        node = resolve(node)
        for name, prop in node.get("properties", {}).items():
            found.append((f"{path}.{name}", prop))
            walk(prop, f"{path}.{name}", seen)
        for key in ("anyOf", "oneOf", "allOf"):
            for branch in node.get(key, []):
                walk(branch, path, seen)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", seen)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}.*", seen)

    walk(schema["properties"]["payload"], "$.payload", frozenset())
    return found


def _drop(node: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != key}


@pytest.mark.parametrize("payload_cls", ALL_PAYLOADS, ids=PAYLOAD_IDS)
def test_no_secret_in_field_names(payload_cls: type[EventPayload]) -> None:
    suspicious = [
        path
        for path, _ in _field_paths(schema_of(payload_cls))
        if any(word in path.rsplit(".", 1)[-1].lower() for word in FORBIDDEN_IN_NAMES)
    ]
    assert suspicious == [], (
        f"{payload_cls.event_type} has fields that look like secrets: {suspicious}. "
        "Passwords, TOTP secrets, ID numbers and bank accounts never travel in events."
    )


@pytest.mark.parametrize("payload_cls", ALL_PAYLOADS, ids=PAYLOAD_IDS)
def test_free_form_maps_only_where_a_code_may_travel(payload_cls: type[EventPayload]) -> None:
    """A free-form map could carry anything; only NotificationRequested.params may."""
    free_form = [
        path
        for path, prop in _field_paths(schema_of(payload_cls))
        if "additionalProperties" in prop and not prop.get("properties")
    ]
    unexpected = [p for p in free_form if (payload_cls.event_type, p) not in FREE_FORM_ALLOWED]
    assert unexpected == [], (
        f"{payload_cls.event_type} has free-form map fields {unexpected}; declare the keys "
        "as described fields (a map is allowed only for NotificationRequested.params)."
    )


def test_the_one_free_form_map_is_found() -> None:
    """Guards the test above: the allowed map is really seen as a free-form map."""
    paths = [
        path
        for path, prop in _field_paths(schema_of(NotificationRequested))
        if "additionalProperties" in prop
    ]
    assert paths == ["$.payload.params"]


# --- breaking_changes on synthetic models -----------------------------------------------


class Color(StrEnum):
    RED = "red"
    GREEN = "green"


class ColorMore(StrEnum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class ColorFewer(StrEnum):
    RED = "red"


class Base(EventPayload):
    event_type = "Synthetic"

    name: str = Field(description="A name.")
    count: int = Field(description="A count.")


class Removed(EventPayload):
    event_type = "Synthetic"

    name: str = Field(description="A name.")


class Retyped(EventPayload):
    event_type = "Synthetic"

    name: int = Field(description="A name.")
    count: int = Field(description="A count.")


class NewRequired(Base):
    extra: str = Field(description="A new required field.")


class NewOptional(Base):
    extra: str | None = Field(default=None, description="A new optional field.")
    tags: list[str] = Field(default_factory=list, description="A new optional list.")


class DocsOnly(EventPayload):
    """Only titles, descriptions and examples differ."""

    event_type = "Synthetic"

    name: str = Field(description="Another description.", examples=["x"], title="Nom")
    count: int = Field(description="Another count.")


class NowNullable(EventPayload):
    event_type = "Synthetic"

    name: str | None = Field(description="A name.")
    count: int = Field(description="A count.")


class NoLongerRequired(EventPayload):
    event_type = "Synthetic"

    name: str = Field(default="", description="A name.")
    count: int = Field(description="A count.")


class WithTime(EventPayload):
    event_type = "Synthetic"

    at: datetime = Field(description="When.")


class WithTimeAsText(EventPayload):
    event_type = "Synthetic"

    at: str = Field(description="When.")


class WithColor(EventPayload):
    event_type = "Synthetic"

    color: Color = Field(description="A color.")


class WithMoreColors(EventPayload):
    event_type = "Synthetic"

    color: ColorMore = Field(description="A color.")


class WithFewerColors(EventPayload):
    event_type = "Synthetic"

    color: ColorFewer = Field(description="A color.")


class WithMap(EventPayload):
    event_type = "Synthetic"

    params: dict[str, str] = Field(default_factory=dict, description="Params.")


class WithIntMap(EventPayload):
    event_type = "Synthetic"

    params: dict[str, int] = Field(default_factory=dict, description="Params.")


class WithList(EventPayload):
    event_type = "Synthetic"

    items: list[str] = Field(description="Items.")


class WithIntList(EventPayload):
    event_type = "Synthetic"

    items: list[int] = Field(description="Items.")


class Inner(BaseModel):
    x: str = Field(description="X.")
    y: int = Field(description="Y.")


class InnerWithoutY(BaseModel):
    x: str = Field(description="X.")


class InnerWithOptionalZ(BaseModel):
    x: str = Field(description="X.")
    y: int = Field(description="Y.")
    z: str | None = Field(default=None, description="Z.")


class Outer(EventPayload):
    event_type = "Synthetic"

    inner: Inner = Field(description="Nested.")


class OuterLostY(EventPayload):
    event_type = "Synthetic"

    inner: InnerWithoutY = Field(description="Nested.")


class OuterGainedZ(EventPayload):
    event_type = "Synthetic"

    inner: InnerWithOptionalZ = Field(description="Nested.")


class Node(BaseModel):
    label: str = Field(description="Label.")
    children: list[Node] = Field(default_factory=list, description="Children.")


class WithTree(EventPayload):
    event_type = "Synthetic"

    root: Node = Field(description="A tree.")


def _changes(old: type[EventPayload], new: type[EventPayload]) -> list[str]:
    return breaking_changes(schema_of(old), schema_of(new))


def test_same_schema_is_not_breaking() -> None:
    assert _changes(Base, Base) == []
    for payload_cls in ALL_PAYLOADS:
        assert breaking_changes(schema_of(payload_cls), schema_of(payload_cls)) == []


def test_documentation_and_def_names_are_not_breaking() -> None:
    assert _changes(Base, DocsOnly) == []


def test_removed_field_is_breaking() -> None:
    assert _changes(Base, Removed) == ["$.payload.count: field removed"]


def test_retyped_field_is_breaking() -> None:
    assert _changes(Base, Retyped) == ["$.payload.name: type changed from string to integer"]


def test_format_change_is_breaking() -> None:
    assert _changes(WithTime, WithTimeAsText) == [
        "$.payload.at: type changed from string (date-time) to string"
    ]


def test_new_required_field_is_breaking() -> None:
    changes = _changes(Base, NewRequired)
    assert len(changes) == 1
    assert changes[0].startswith("$.payload.extra: new required field")


def test_new_optional_fields_are_not_breaking() -> None:
    assert _changes(Base, NewOptional) == []


def test_removing_an_optional_field_is_breaking() -> None:
    assert _changes(NewOptional, Base) == [
        "$.payload.extra: field removed",
        "$.payload.tags: field removed",
    ]


def test_becoming_nullable_is_breaking() -> None:
    changes = _changes(Base, NowNullable)
    assert len(changes) == 1
    assert changes[0].startswith("$.payload.name: may now be null")


def test_becoming_non_nullable_is_breaking() -> None:
    changes = _changes(NowNullable, Base)
    assert len(changes) == 1
    assert changes[0].startswith("$.payload.name: may no longer be null")


def test_required_to_optional_and_back_is_breaking() -> None:
    [lost] = _changes(Base, NoLongerRequired)
    assert lost.startswith("$.payload.name: no longer required")
    [gained] = _changes(NoLongerRequired, Base)
    assert gained.startswith("$.payload.name: now required")


def test_enum_value_added_is_breaking() -> None:
    [change] = _changes(WithColor, WithMoreColors)
    assert change.startswith('$.payload.color: enum value(s) added: "blue"')


def test_enum_value_removed_is_breaking() -> None:
    [change] = _changes(WithColor, WithFewerColors)
    assert change.startswith('$.payload.color: enum value(s) removed: "green"')


def test_map_value_retyped_is_breaking() -> None:
    assert _changes(WithMap, WithIntMap) == [
        "$.payload.params.*: type changed from string to integer"
    ]


def test_list_item_retyped_is_breaking() -> None:
    assert _changes(WithList, WithIntList) == [
        "$.payload.items[]: type changed from string to integer"
    ]


def test_nested_field_removed_is_breaking() -> None:
    assert _changes(Outer, OuterLostY) == ["$.payload.inner.y: field removed"]


def test_nested_optional_field_added_is_not_breaking() -> None:
    assert _changes(Outer, OuterGainedZ) == []


def test_recursive_models_terminate() -> None:
    assert _changes(WithTree, WithTree) == []


def test_envelope_field_removed_is_breaking() -> None:
    old = schema_of(Base)
    new = json.loads(json.dumps(old))
    del new["properties"]["causation_id"]
    assert breaking_changes(old, new) == ["$.causation_id: field removed"]


def test_ref_and_inline_and_allof_forms_are_equivalent() -> None:
    inline = {
        "type": "object",
        "properties": {"p": {"type": "object", "properties": {"a": {"type": "string"}}}},
        "required": ["p"],
    }
    via_ref = {
        "$defs": {"P": {"type": "object", "properties": {"a": {"type": "string"}}}},
        "type": "object",
        "properties": {"p": {"allOf": [{"$ref": "#/$defs/P"}], "description": "P."}},
        "required": ["p"],
    }
    assert breaking_changes(inline, via_ref) == []
    assert breaking_changes(via_ref, inline) == []
    retyped = json.loads(json.dumps(via_ref))
    retyped["$defs"]["P"]["properties"]["a"] = {"type": "boolean"}
    assert breaking_changes(inline, retyped) == ["$.p.a: type changed from string to boolean"]


def test_type_list_nullability_is_understood() -> None:
    old = {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}
    new = {"type": "object", "properties": {"a": {"type": ["null", "string"]}}}
    assert breaking_changes(old, new) == []
    narrowed = {"type": "object", "properties": {"a": {"type": "string"}}}
    [change] = breaking_changes(old, narrowed)
    assert change.startswith("$.a: may no longer be null")


def test_constraint_change_is_breaking() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 10}}}
    new = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 20}}}
    assert breaking_changes(old, new) == ["$.a: constraints changed on string"]


# --- snapshots and closed contracts -----------------------------------------------------

SNAPSHOTS = [p for p in ALL_PAYLOADS if p.snapshot]


def test_the_contacts_record_is_a_snapshot() -> None:
    assert AccountContacts in SNAPSHOTS


@pytest.mark.parametrize("payload_cls", SNAPSHOTS, ids=[p.event_type for p in SNAPSHOTS])
def test_a_snapshot_is_closed_and_every_field_is_required(
    payload_cls: type[EventPayload],
) -> None:
    """A consumer replaces its copy with a snapshot: a field it could not read, or a field
    that silently took a default, would blank data. So: no defaults, no unknown fields."""
    schema = schema_of(payload_cls)
    payload = schema["$defs"][payload_cls.__name__]
    assert issubclass(payload_cls, ClosedPayload)
    assert payload["additionalProperties"] is False
    assert sorted(payload["required"]) == sorted(payload["properties"])
    assert [n for n, f in payload_cls.model_fields.items() if not f.is_required()] == []


def test_closed_contracts_are_the_ones_whose_consumers_deploy_first() -> None:
    """contracts/README.md: closed only where every consumer is deployed before the
    producers (a request to its owner, a snapshot read by one service, a fact an external
    system sends us under our contract); the rest stay open so that a new optional field
    can ship before every consumer knows it."""
    closed = sorted(
        p.event_type
        for p in ALL_PAYLOADS
        if issubclass(p, ClosedPayload) and p.topic not in EXTERNAL_TOPICS
    )
    assert closed == ["AccountContacts", "NotificationRequested"]
    facts = [p for p in ALL_PAYLOADS if p.topic in EXTERNAL_TOPICS]
    assert facts and all(issubclass(p, Fact) for p in facts)
    open_defs = [
        p.event_type
        for p in ALL_PAYLOADS
        if not issubclass(p, ClosedPayload)
        and schema_of(p)["$defs"][p.__name__].get("additionalProperties") is not None
    ]
    assert open_defs == []


def test_the_envelope_names_an_account_id_pattern() -> None:
    schema = schema_of(AccountContacts)
    assert schema["properties"]["account_id"]["pattern"] == "^(?:[1-9][0-9]{0,18})?$"
    assert "additionalProperties" not in schema  # the envelope stays open (README)
