"""Secrets never enter the audit log: they are redacted before a record is built.

Redacted, not refused: an audit record of a decision is worth more than the decision's secret,
and a refused record would leave the decision unrecorded. A value is replaced by REDACTED when
its key names a secret (password, secret, token, credential, private key, ...) at any depth, or
when the value itself has the shape of a secret (an OpenBao token, a PEM private key, a JWT).
The paths of what was redacted are kept in the record, so a reader knows something was there.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[REDACTED]"
# Compared with the key lower-cased, without '_', '-' and '.': secretKey, secret_key, x-api-key.
SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "privatekey",
    "apikey",
    "authorization",
    "cookie",
    "unsealkey",
)
SECRET_VALUE = re.compile(
    r"(?:\b(?:hvs|hvb|hvr|s|b|r)\.[A-Za-z0-9_-]{20,}"  # OpenBao / Vault tokens
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"  # PEM private keys
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"  # JWTs (SA tokens)
)


def is_secret_key(key: str) -> bool:
    folded = re.sub(r"[-_.\s]", "", key.lower())
    return any(part in folded for part in SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    """The text with every secret-shaped value replaced (for reasons and other free text)."""
    return SECRET_VALUE.sub(REDACTED, text)


def redact(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """(value with secrets replaced, JSON-ish paths of what was replaced) (pure)."""
    if isinstance(value, dict):
        clean: dict[str, Any] = {}
        paths: list[str] = []
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if is_secret_key(str(key)) and item not in (None, ""):
                clean[str(key)] = REDACTED
                paths.append(child)
            else:
                clean[str(key)], found = redact(item, child)
                paths += found
        return clean, paths
    if isinstance(value, (list, tuple)):
        items: list[Any] = []
        paths = []
        for index, item in enumerate(value):
            cleaned, found = redact(item, f"{path}[{index}]")
            items.append(cleaned)
            paths += found
        return items, paths
    if isinstance(value, str):
        cleaned_text = redact_text(value)
        return cleaned_text, [path] if cleaned_text != value else []
    return value, []
