"""PRJ-1: projects are created, disabled and enabled again; never deleted. Pure checks."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound

MAX_NAME = 64
MAX_DESCRIPTION = 500


class ProjectNameInvalid(AppError):
    code = "PROJECT_NAME_INVALID"


class ProjectNameTaken(Conflict):
    code = "PROJECT_NAME_TAKEN"


class ProjectNotFound(NotFound):
    code = "PROJECT_NOT_FOUND"


def check_project(name: str, description: str) -> tuple[str, str]:
    """A trimmed, non-empty name (unique per account) and a bounded description."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ProjectNameInvalid(
            f"A project name has 1 to {MAX_NAME} characters.", details={"field": "name"}
        )
    if len(description) > MAX_DESCRIPTION:
        raise ProjectNameInvalid(
            f"A description has at most {MAX_DESCRIPTION} characters.",
            details={"field": "description"},
        )
    return name, description.strip()
