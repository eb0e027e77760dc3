"""A stack workspace on the test session's platform (see nidc.local.pulumi_workspace)."""

from __future__ import annotations

from nidc.local.platform import LocalPlatform
from nidc.local.pulumi_workspace import StackWorkspace, local_stack


def workspace(platform: LocalPlatform, stack: str) -> StackWorkspace:
    """A fresh stack in the platform's state folder, not in pytest's temporary folders (other
    pytest sessions on the machine rotate those away, and with them the stack's state)."""
    return local_stack(platform, stack)
