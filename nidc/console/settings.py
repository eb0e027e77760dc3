"""The console's settings, from the catalog server's environment (pure but for the key file).

NIDC_PROMETHEUS_URL            where the alerts page reads /api/v1/alerts (HTTPS, platform CA)
NIDC_TRACE_UI_URL              the trace UI (Jaeger) a run's trace link opens
NIDC_CONSOLE_CHROMIUM          headless Chromium that prints the DCMM report's PDF
NIDC_CONSOLE_SESSION_KEY_FILE  the key that signs session cookies (a mounted Secret); without
                               it a key is drawn at start, and a restart signs everyone out
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nidc.catalog.observe import ObjectStoreLogin


@dataclass(frozen=True)
class ConsoleSettings:
    session_key: bytes
    ca_file: Path | None = None
    prometheus_url: str | None = None
    trace_ui_url: str | None = None
    chromium: Path | None = None
    object_store: ObjectStoreLogin | None = None
    center: str = "local"
    secure_cookie: bool = True

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        ca_file: Path | None,
        object_store: ObjectStoreLogin | None,
        center: str,
    ) -> ConsoleSettings:
        key_file = env.get("NIDC_CONSOLE_SESSION_KEY_FILE")
        key = Path(key_file).read_bytes().strip() if key_file else secrets.token_bytes(32)
        chromium = env.get("NIDC_CONSOLE_CHROMIUM")
        return cls(
            session_key=key,
            ca_file=ca_file,
            prometheus_url=env.get("NIDC_PROMETHEUS_URL") or None,
            trace_ui_url=env.get("NIDC_TRACE_UI_URL") or None,
            chromium=Path(chromium) if chromium else None,
            object_store=object_store,
            center=center,
        )
