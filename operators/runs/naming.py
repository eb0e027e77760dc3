"""Deterministic run names: the same (parent uid, generation, sequence) always names one run.

The name is what makes submission create-or-adopt: a restarted operator that recomputes the
run it wants finds the object it already recorded instead of making a second one.
"""

from __future__ import annotations

import hashlib

MAX_NAME = 63


def run_name(
    parent_name: str, parent_uid: str, generation: int, sequence: int, role: str = ""
) -> str:
    """<parent>-g<generation>-<sequence>[-<role>]-<uid hash>, at most 63 characters.

    `role` names a second run made for the same (generation, sequence), e.g. `q` for the
    quality run checking the version a transform run wrote.
    """
    key = f"{parent_uid}/{generation}/{sequence}" + (f"/{role}" if role else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    suffix = f"-g{generation}-{sequence}" + (f"-{role}" if role else "") + f"-{digest}"
    return parent_name[: MAX_NAME - len(suffix)].rstrip("-") + suffix


def keyed_run_name(parent_name: str, parent_uid: str, job: str, key: str) -> str:
    """<parent>-<job>-<key digest>: one run of `job` per (parent, key), e.g. a classify run per
    (table version, policies hash), whatever order the passes that want it come in."""
    digest = hashlib.sha256(f"{parent_uid}/{job}/{key}".encode()).hexdigest()[:10]
    suffix = f"-{job}-{digest}"
    return parent_name[: MAX_NAME - len(suffix)].rstrip("-") + suffix
