"""Secrets the stack makes itself, derived from one stack secret (`nidc:secretSeed`).

The tool cache holds the Kubernetes provider alone (no random or TLS provider, no dynamic-provider
host), so a value the stack "generates" is HMAC-SHA256 of the seed and the value's purpose
(decisions/0260): stable from one `up` to the next, different per purpose, unguessable without the
seed, and a Pulumi secret wherever the seed is one. A purpose ends in a version (`/v1`): raising it
rotates that one value. An explicit stack secret of the same name wins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

import pulumi

SEED_KEY = "secretSeed"


def derive(seed: str, purpose: str) -> str:
    """32 URL-safe characters from the seed and the purpose (pure)."""
    digest = hmac.new(seed.encode(), purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def stack_secret(
    secrets: Mapping[str, pulumi.Input[str]], key: str, purpose: str
) -> pulumi.Input[str]:
    """`secrets[key]` when set; else derived from the seed ('' without a seed, which the
    component then refuses naming `key`)."""
    if (explicit := secrets.get(key)) not in (None, ""):
        assert explicit is not None
        return explicit
    seed = secrets.get(SEED_KEY)
    if seed in (None, ""):
        return ""
    if isinstance(seed, str):
        return derive(seed, purpose)
    value: pulumi.Output[str] = pulumi.Output.from_input(seed)
    return pulumi.Output.secret(value.apply(lambda s: derive(s, purpose)))
