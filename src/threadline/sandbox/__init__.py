"""A local emulator of the WhatsApp Cloud API (Graph API) with a ``/_sandbox`` control plane."""

from __future__ import annotations

from threadline.sandbox.app import create_sandbox_app
from threadline.sandbox.config import SandboxConfig, SandboxSettings, TemplateSpec
from threadline.sandbox.state import ManualClock, SandboxState

__all__ = [
    "ManualClock",
    "SandboxConfig",
    "SandboxSettings",
    "SandboxState",
    "TemplateSpec",
    "create_sandbox_app",
]
