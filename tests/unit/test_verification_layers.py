"""Verification's domain (the rules) does no I/O and knows no outer layer: RN rules can be
read, and tested, without a database, a broker or a provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_identity_layers import imported_modules

pytestmark = pytest.mark.unit

VERIFICATION = Path(__file__).resolve().parents[2] / "services" / "verification"
FORBIDDEN = (
    "services.verification.adapters",
    "services.verification.service_layer",
    "services.verification.entrypoints",
    "services.verification.main",
    "redis",
    "sqlalchemy",
    "asyncpg",
    "fastapi",
    "faststream",
    "aiokafka",
    "httpx",
    "cryptography",
)


def test_the_domain_imports_no_outer_layer_and_no_io_library() -> None:
    found: dict[str, list[str]] = {}
    for path in sorted((VERIFICATION / "domain").rglob("*.py")):
        bad = sorted(
            name
            for name in imported_modules(path)
            if any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN)
        )
        if bad:
            found[path.name] = bad
    assert found == {}
