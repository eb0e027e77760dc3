"""Where the policy data lives (policies/ at the repository root, or NIDC_POLICIES_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

POLICIES_ENV = "NIDC_POLICIES_DIR"
REPOSITORY_POLICIES = Path(__file__).resolve().parents[2] / "policies"


def policies_dir() -> Path:
    """The folder of rule packs, the grade bundle and dictionaries."""
    configured = os.environ.get(POLICIES_ENV)
    return Path(configured) if configured else REPOSITORY_POLICIES


def read_word_list(name: str) -> tuple[str, ...]:
    """A dictionary under policies/dictionaries/: one entry a line, '#' starts a comment."""
    text = (policies_dir() / "dictionaries" / name).read_text(encoding="utf-8")
    entries = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(entry for entry in entries if entry)
