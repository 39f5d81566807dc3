"""The real identity process refuses to start on the committed keys and fakes (ASVS 2.10.4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.identity.settings import IdentitySettings

pytestmark = pytest.mark.e2e


def test_identity_service_exits_with_one_line_naming_the_settings_outside_dev_mode() -> None:
    env = {k: v for k, v in os.environ.items() if k.lower() not in IdentitySettings.model_fields}
    env |= {"DEV_MODE": "false", "LOG_JSON": "false"}
    command = Path(sys.executable).parent / "identity-service"

    done = subprocess.run([str(command)], env=env, capture_output=True, timeout=60, text=True)

    assert done.returncode == 78
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    for setting in ("refusing_to_start", "IDENTITY_PROVIDER", "CODE_HMAC_KEY"):
        assert setting in lines[0]
    assert "Traceback" not in lines[0]
