"""Identity's layers (issue 9, the reshape): the use cases reach the outside world only
through the ports (service_layer/ports.py) bootstrap wires, and the domain does no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

IDENTITY = Path(__file__).resolve().parents[2] / "services" / "identity"
# What each inner layer must not import: the layers outside it, and (domain) the I/O libraries.
OUTER = (
    "services.identity.adapters",
    "services.identity.entrypoints",
    "services.identity.bootstrap",
    "services.identity.main",
)
FORBIDDEN = {
    "service_layer": OUTER,
    "strategies": OUTER,  # strategies are use-case code too: ports only
    "domain": (
        *OUTER,
        "services.identity.service_layer",
        "services.identity.strategies",
        "redis",
        "sqlalchemy",
        "fastapi",
        "faststream",
        "aiokafka",
        "httpx",
    ),
}


def imported_modules(path: Path) -> set[str]:
    """Every module the file imports, anywhere in it (TYPE_CHECKING blocks and functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: a relative import hides what it reaches"
            assert node.module is not None
            names.update({node.module, *(f"{node.module}.{a.name}" for a in node.names)})
    return names


def offenders(layer: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((IDENTITY / layer).rglob("*.py")):
        bad = sorted(
            name
            for name in imported_modules(path)
            if any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN[layer])
        )
        if bad:
            found[str(path.relative_to(IDENTITY))] = bad
    return found


def test_the_service_layer_and_the_strategies_import_no_adapter_only_the_ports() -> None:
    assert offenders("service_layer") == {}
    assert offenders("strategies") == {}


def test_the_domain_imports_no_outer_layer_and_no_io_library() -> None:
    assert offenders("domain") == {}


def test_the_check_sees_an_adapter_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from services.identity.adapters import repository\n"
        "def later() -> None:\n"
        "    import services.identity.adapters.sessions\n"
    )
    assert {"services.identity.adapters", "services.identity.adapters.sessions"} <= (
        imported_modules(sample)
    )
