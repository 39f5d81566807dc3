"""Committed JSON Schemas of the event contracts, and the rule for what breaks a consumer.

``python -m shared.contracts`` writes one schema per payload in ``ALL_PAYLOADS`` to
``contracts/schemas/<EventType>.v<version>.json``. The contract tests compare the committed
files with the models: a breaking change fails (publish a new version instead), an additive
change fails until the regenerated schema is committed.

Which changes break
-------------------
Messages of one ``(type, version)`` are read by consumers on *both* sides of a change: a
consumer still on the old model reads messages the new producer writes, and a consumer
already on the new model reads messages written before it (topic retention, replays,
dead-letter redelivery, and the compacted ``identity.contacts`` topic, where the last record
per account lives for ever). Every consumer decodes with its own pydantic model
(``shared.events.decode``); a message it cannot validate is undecodable and is never retried.

So, for a field that exists in both versions, its presence and its set of values must not
change in either direction. Breaking:

* a field removed;
* a new required field (messages already on the topic lack it);
* a field's type changed: ``type``, ``format``, constraints, array items, map values,
  union branches;
* nullability changed either way: ``str`` -> ``str | None`` (an old consumer gets a null it
  does not handle) and ``str | None`` -> ``str`` (a new consumer meets the nulls already on
  the topic);
* enum values added or removed: an added value is rejected by every old consumer's enum
  (pydantic validates enums strictly, so the whole event becomes undecodable); a removed
  value is rejected by new consumers reading older messages;
* a field that was required becoming optional, or the other way round.

* additional properties allowed or forbidden where they were not (a closed contract).

Not breaking: a new optional field (consumers of an open contract ignore it,
``extra="ignore"``; new consumers fill its default into older messages), and changes to
titles, descriptions, examples and defaults, or to the names of ``$defs``. A closed contract
(``ClosedPayload``, ``extra="forbid"``) refuses unknown fields, so there a new optional field
ships consumers first, then producers; only contracts whose consumers are deployed first are
closed (contracts/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from shared.events import ALL_PAYLOADS, Envelope, EventPayload

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = Path("contracts") / "schemas"
JSON_SCHEMA_MODE: Final[Literal["serialization"]] = "serialization"

# Keywords that document a schema without constraining the values it accepts.
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "$schema",
        "$id",
        "$defs",
        "definitions",
    }
)
# Keywords whose value maps names to schemas (not a schema itself).
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
# Keywords whose value is data, compared as is.
_DATA = frozenset({"enum", "const"})
# Keywords whose value is an unordered list.
_UNORDERED = frozenset({"anyOf", "oneOf", "required", "enum"})


def schema_of(payload_cls: type[EventPayload]) -> dict[str, Any]:
    """JSON Schema of ``Envelope[payload_cls]`` as it travels on the wire."""
    envelope = Envelope[payload_cls]  # type: ignore[valid-type]
    schema: dict[str, Any] = envelope.model_json_schema(mode=JSON_SCHEMA_MODE)
    schema["title"] = f"{payload_cls.event_type}.v{payload_cls.event_version}"
    return schema


def schema_path(payload_cls: type[EventPayload], root: Path = REPO_ROOT) -> Path:
    """Where the committed schema of a payload lives under the repository root."""
    name = f"{payload_cls.event_type}.v{payload_cls.event_version}.json"
    return root / SCHEMA_DIR / name


def render(schema: Mapping[str, Any]) -> str:
    """The committed text of a schema: stable key order, two-space indent, final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(root: Path = REPO_ROOT) -> list[Path]:
    """Write the schema of every payload in ``ALL_PAYLOADS``; returns the paths written."""
    written: list[Path] = []
    for payload_cls in ALL_PAYLOADS:
        path = schema_path(payload_cls, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema_of(payload_cls)), encoding="utf-8")
        written.append(path)
    return written


# --- breaking changes -------------------------------------------------------------------


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What in ``new`` would break a consumer of ``old``, one line per change, with its path.

    Both are JSON Schemas; local ``$ref`` (``#/...``) are resolved against each schema's own
    root, so renaming a ``$defs`` entry is not a change. The rule is in the module docstring:
    removed, retyped or newly required fields, nullability and enum changes in either
    direction break; new optional fields and documentation changes do not.
    """
    out: list[str] = []
    _diff(old, new, "$", _Ctx(old_root=old, new_root=new), out)
    return out


@dataclass
class _Ctx:
    old_root: Mapping[str, Any]
    new_root: Mapping[str, Any]
    active: set[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=set)


def _lookup(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref are supported, got {ref!r}")
    node: Any = root
    for part in ref[1:].split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or key not in node:
            raise ValueError(f"unresolvable $ref {ref!r}")
        node = node[key]
    if not isinstance(node, Mapping):
        raise ValueError(f"$ref {ref!r} does not point at a schema")
    return node


def _deref(node: Mapping[str, Any], root: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Inline ``$ref`` (and a lone ``allOf`` wrapper); sibling keywords win over the target."""
    current = dict(node)
    refs: list[str] = []
    while True:
        ref = current.get("$ref")
        if isinstance(ref, str):
            del current["$ref"]
            if ref in refs:  # a $ref chain that loops back on itself
                break
            refs.append(ref)
            current = {**_lookup(root, ref), **current}
            continue
        all_of = current.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
            del current["allOf"]
            current = {**all_of[0], **current}
            continue
        return current, refs
    return current, refs


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _canon(node: Any, root: Mapping[str, Any], stack: tuple[str, ...] = ()) -> Any:
    """A schema reduced to what it accepts: refs inlined, annotations dropped, sets sorted."""
    if isinstance(node, list):
        return [_canon(item, root, stack) for item in node]
    if not isinstance(node, Mapping):
        return node
    resolved, refs = _deref(node, root)
    if any(ref in stack for ref in refs):  # recursive schema: stop at the repeated ref
        return {"$ref": refs[-1]}
    inner = stack + tuple(refs)
    out: dict[str, Any] = {}
    for key, value in resolved.items():
        if key in _ANNOTATIONS:
            continue
        if key in _DATA:
            canon: Any = value
        elif key in _SCHEMA_MAPS and isinstance(value, Mapping):
            canon = {name: _canon(sub, root, inner) for name, sub in value.items()}
        else:
            canon = _canon(value, root, inner)
        if key in _UNORDERED and isinstance(canon, list):
            canon = sorted({_sort_key(item): item for item in canon}.values(), key=_sort_key)
        if key == "type" and isinstance(canon, list):
            canon = sorted(canon)
        out[key] = canon
    return out


def _is_null(node: Any, root: Mapping[str, Any]) -> bool:
    return bool(_canon(node, root) == {"type": "null"})


def _split_null(
    node: dict[str, Any], root: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, bool]:
    """A resolved schema as (its non-null part, whether it admits null)."""
    kind = node.get("type")
    if kind == "null":
        return None, True
    if isinstance(kind, list) and "null" in kind:
        rest = [t for t in kind if t != "null"]
        if not rest:
            return None, True
        return {**node, "type": rest[0] if len(rest) == 1 else rest}, True
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if not isinstance(branches, list):
            continue
        non_null = [b for b in branches if not _is_null(b, root)]
        if len(non_null) == len(branches):
            continue
        others = {k: v for k, v in node.items() if k != key}
        if not non_null:
            return None, True
        if len(non_null) == 1:
            core, _ = _deref({**others, **non_null[0]}, root)
            return core, True
        return {**others, key: non_null}, True
    return node, False


def _type_of(node: Mapping[str, Any]) -> Any:
    kind = node.get("type")
    if kind is None and "properties" in node:
        return "object"
    return kind


def _render(node: Mapping[str, Any] | None, root: Mapping[str, Any]) -> str:
    """A short human description of a schema's type, for messages."""
    if node is None:
        return "null"
    resolved, refs = _deref(node, root)
    core, nullable = _split_null(resolved, root)
    text = "null" if core is None else _render_core(core, refs, root)
    return f"{text} | null" if nullable and core is not None else text


def _render_core(node: Mapping[str, Any], refs: list[str], root: Mapping[str, Any]) -> str:
    name = refs[-1].rsplit("/", 1)[-1] if refs else None
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if isinstance(branches, list):
            return " | ".join(_render(b, root) for b in branches)
    if "enum" in node:
        values = ", ".join(json.dumps(v) for v in node["enum"])
        return f"{name + ' ' if name else ''}enum [{values}]"
    if "const" in node:
        return f"const {json.dumps(node['const'])}"
    kind = _type_of(node)
    if kind == "array" and isinstance(node.get("items"), Mapping):
        return f"array of {_render(node['items'], root)}"
    if kind == "object" and isinstance(node.get("additionalProperties"), Mapping):
        return f"map of {_render(node['additionalProperties'], root)}"
    if kind == "object" and name:
        return f"object {name}"
    text = " | ".join(kind) if isinstance(kind, list) else str(kind or "any")
    if "format" in node:
        text += f" ({node['format']})"
    return text


def _without(node: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in keys}


def _diff(old: Any, new: Any, path: str, ctx: _Ctx, out: list[str]) -> None:
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        if old != new:
            out.append(f"{path}: schema changed from {old!r} to {new!r}")
        return
    o_res, o_refs = _deref(old, ctx.old_root)
    n_res, n_refs = _deref(new, ctx.new_root)
    pair = (tuple(o_refs), tuple(n_refs))
    if o_refs and n_refs:
        if pair in ctx.active:  # a recursive schema, already being compared further up
            return
        ctx.active.add(pair)
    try:
        _diff_resolved(o_res, n_res, old, new, path, ctx, out)
    finally:
        ctx.active.discard(pair)


def _diff_resolved(
    o_res: dict[str, Any],
    n_res: dict[str, Any],
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    path: str,
    ctx: _Ctx,
    out: list[str],
) -> None:
    o_core, o_null = _split_null(o_res, ctx.old_root)
    n_core, n_null = _split_null(n_res, ctx.new_root)
    if n_null and not o_null:
        out.append(f"{path}: may now be null (an existing consumer does not expect null)")
    if o_null and not n_null:
        out.append(f"{path}: may no longer be null (messages already on the topic may hold null)")
    if o_core is None or n_core is None:
        if (o_core is None) != (n_core is None):
            out.append(_retyped(path, old, new, ctx))
        return

    o_kind, n_kind = _type_of(o_core), _type_of(n_core)
    if o_kind == n_kind == "object":
        _diff_object(o_core, n_core, path, ctx, out)
        rest = ("properties", "required", "additionalProperties")
        if _canon(_without(o_core, *rest), ctx.old_root) != _canon(
            _without(n_core, *rest), ctx.new_root
        ):
            out.append(_retyped(path, old, new, ctx))
        return
    if o_kind == n_kind == "array" and "items" in o_core and "items" in n_core:
        _diff(o_core["items"], n_core["items"], f"{path}[]", ctx, out)
        if _canon(_without(o_core, "items"), ctx.old_root) != _canon(
            _without(n_core, "items"), ctx.new_root
        ):
            out.append(_retyped(path, old, new, ctx))
        return
    if "enum" in o_core and "enum" in n_core:
        same_base = _canon(_without(o_core, "enum"), ctx.old_root) == _canon(
            _without(n_core, "enum"), ctx.new_root
        )
        if same_base:
            _diff_enum(o_core["enum"], n_core["enum"], path, out)
            return
    if _canon(o_core, ctx.old_root) != _canon(n_core, ctx.new_root):
        out.append(_retyped(path, old, new, ctx))


def _retyped(path: str, old: Mapping[str, Any], new: Mapping[str, Any], ctx: _Ctx) -> str:
    before, after = _render(old, ctx.old_root), _render(new, ctx.new_root)
    if before == after:  # same type name, different constraints
        return f"{path}: constraints changed on {before}"
    return f"{path}: type changed from {before} to {after}"


def _diff_enum(old: list[Any], new: list[Any], path: str, out: list[str]) -> None:
    o_keys = {_sort_key(v): v for v in old}
    n_keys = {_sort_key(v): v for v in new}
    added = [n_keys[k] for k in sorted(n_keys.keys() - o_keys.keys())]
    removed = [o_keys[k] for k in sorted(o_keys.keys() - n_keys.keys())]
    if added:
        values = ", ".join(json.dumps(v) for v in added)
        out.append(f"{path}: enum value(s) added: {values} (an existing consumer rejects them)")
    if removed:
        values = ", ".join(json.dumps(v) for v in removed)
        out.append(
            f"{path}: enum value(s) removed: {values} "
            "(messages already on the topic may carry them)"
        )


def _diff_object(
    old: Mapping[str, Any], new: Mapping[str, Any], path: str, ctx: _Ctx, out: list[str]
) -> None:
    o_props: Mapping[str, Any] = old.get("properties") or {}
    n_props: Mapping[str, Any] = new.get("properties") or {}
    o_req = set(old.get("required") or ())
    n_req = set(new.get("required") or ())
    for name in o_props:
        if name not in n_props:
            out.append(f"{path}.{name}: field removed")
    for name in n_props:
        if name not in o_props and name in n_req:
            out.append(f"{path}.{name}: new required field (messages already on the topic lack it)")
    for name in o_props:
        if name not in n_props:
            continue
        if name in o_req and name not in n_req:
            out.append(
                f"{path}.{name}: no longer required (an existing consumer may find it missing)"
            )
        if name not in o_req and name in n_req:
            out.append(f"{path}.{name}: now required (messages already on the topic may lack it)")
        _diff(o_props[name], n_props[name], f"{path}.{name}", ctx, out)

    o_extra = old.get("additionalProperties", True)
    n_extra = new.get("additionalProperties", True)
    if isinstance(o_extra, Mapping) and isinstance(n_extra, Mapping):
        _diff(o_extra, n_extra, f"{path}.*", ctx, out)
    elif _canon(o_extra, ctx.old_root) != _canon(n_extra, ctx.new_root):
        out.append(
            f"{path}: additional properties changed from "
            f"{_render_extra(o_extra, ctx.old_root)} to {_render_extra(n_extra, ctx.new_root)}"
        )


def _render_extra(value: Any, root: Mapping[str, Any]) -> str:
    if isinstance(value, Mapping):
        return _render(value, root)
    return "allowed" if value else "forbidden"


# --- command line -----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate ``contracts/schemas``; refuses to overwrite a breaking change by default."""
    parser = argparse.ArgumentParser(
        prog="python -m shared.contracts",
        description="Write the JSON Schema of every event contract to contracts/schemas/.",
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    parser.add_argument(
        "--allow-breaking",
        action="store_true",
        help="overwrite committed schemas even where the change breaks consumers",
    )
    args = parser.parse_args(argv)
    root: Path = args.root

    problems: list[str] = []
    for payload_cls in ALL_PAYLOADS:
        path = schema_path(payload_cls, root)
        if path.exists():
            committed = json.loads(path.read_text(encoding="utf-8"))
            for change in breaking_changes(committed, schema_of(payload_cls)):
                problems.append(f"{path.name}: {change}")
    if problems and not args.allow_breaking:
        print("Breaking changes to committed event contracts:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(
            "Publish a new event_version instead (keep the old payload), or pass "
            "--allow-breaking if no consumer can be affected.",
            file=sys.stderr,
        )
        return 1

    for path in write_all(root):
        print(path.relative_to(root) if path.is_relative_to(root) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
