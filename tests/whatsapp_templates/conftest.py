"""Fixtures of the template tests (the sandbox's control plane is the suite's ``control``)."""

from __future__ import annotations

import pytest

from threadline.sandbox.state import SandboxState


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox: SandboxState) -> SandboxState:
    """Every template test starts with the sandbox's seeded templates only."""
    return sandbox
