"""Shared fixtures: one session-scoped local platform for every integration test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from nidc.local.platform import LocalPlatform


@pytest.fixture(scope="session")
def platform() -> Iterator[LocalPlatform]:
    """The embedded platform, started once; reused (and left running) if it already ran.

    A platform this session started is stopped at the end unless NIDC_KEEP_PLATFORM=1.
    """
    local = LocalPlatform()
    already_running = local.state.endpoints_file.exists() and all(
        row.healthy for row in local.status()
    )
    local.up()
    yield local
    if not already_running and os.environ.get("NIDC_KEEP_PLATFORM") != "1":
        local.down()


@pytest.fixture(scope="session")
def platform_env(platform: LocalPlatform) -> dict[str, Any]:
    """endpoints.json plus client paths (`nidc local env --json`)."""
    return platform.env()
