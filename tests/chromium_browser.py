"""Debian's Chromium from the tool cache, driven by playwright, for the console's browser tests
(tests/integration/test_console_browser.py, tests/e2e/test_demo.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nidc.dcmm.report import FONTCONFIG
from nidc.local.tools.manifest import binary_path


@contextmanager
def chromium(work: Path) -> Iterator[Any]:
    """A headless Chromium with the CJK font that comes with the tool (as the DCMM PDF's)."""
    from playwright.sync_api import sync_playwright

    binary = binary_path("chromium")
    fonts = work / "fonts.conf"
    fonts.write_text(
        FONTCONFIG.format(fonts=binary.resolve().parent.parent / "root/usr/share/fonts", cache=work)
    )
    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=str(binary),
            args=["--no-sandbox"],
            env={**os.environ, "FONTCONFIG_FILE": str(fonts), "HOME": str(work)},
        )
        try:
            yield launched
        finally:
            launched.close()


def console_context(browser: Any, env: dict[str, Any], identity: str | None) -> Any:
    """A browser context; with a platform client certificate when `identity` is given."""
    pki = Path(env["state_dir"]) / "pki"
    certs = []
    if identity:
        origin = env["servers"]["catalog-api"]["url"]
        certs = [
            {
                "origin": origin,
                "certPath": str(pki / f"client-{identity}.crt"),
                "keyPath": str(pki / f"client-{identity}.key"),
            }
        ]
    return browser.new_context(
        ignore_https_errors=True, client_certificates=certs, viewport={"width": 1280, "height": 900}
    )
