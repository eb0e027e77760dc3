"""The DCMM self-assessment as an HTML report (Jinja2), and as PDF via headless Chromium."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from nidc.dcmm.evidence import Evidence, PlatformSnapshot, collect_evidence
from nidc.dcmm.process_areas import load_areas
from nidc.dcmm.scoring import Score, score_all


@dataclass(frozen=True)
class AreaSummary:
    zh: str
    en: str
    scores: list[Score]

    @property
    def count(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return sum(s.level for s in self.scores) / len(self.scores)

    @property
    def lowest(self) -> int:
        return min(s.level for s in self.scores)


def assess(snapshot: PlatformSnapshot) -> tuple[list[Score], dict[str, Evidence]]:
    """Every process area's score from one snapshot (pure)."""
    evidence = collect_evidence(snapshot)
    return score_all(load_areas(known_evidence=set(evidence)), evidence), evidence


def render_html(scores: list[Score], center: str, generated: dt.datetime) -> str:
    """The report as one self-contained HTML page (no external assets)."""
    env = Environment(
        loader=PackageLoader("nidc.dcmm", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    areas: list[AreaSummary] = []
    for score in scores:
        if not areas or areas[-1].zh != score.area.area.zh:
            areas.append(AreaSummary(score.area.area.zh, score.area.area.en, []))
        areas[-1].scores.append(score)
    return env.get_template("report.html.j2").render(
        center=center,
        generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
        scores=scores,
        areas=areas,
        overall=sum(s.level for s in scores) / len(scores),
        lowest=min(s.level for s in scores),
    )


class PdfError(RuntimeError):
    """Chromium could not print the report."""


FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>{fonts}</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


def print_pdf(html: Path, pdf: Path, chromium: Path, timeout: float = 120.0) -> None:
    """Print an HTML file to PDF with headless Chromium from the tool cache.

    Chromium's fonts come with it (fonts-wqy-microhei, unpacked beside it): fontconfig is
    pointed at them, so the Chinese names print on a machine with no CJK font installed."""
    tool_root = chromium.resolve().parent.parent / "root"
    with tempfile.TemporaryDirectory(prefix="nidc-pdf-") as work:
        conf = Path(work) / "fonts.conf"
        conf.write_text(FONTCONFIG.format(fonts=tool_root / "usr/share/fonts", cache=work))
        env = {**os.environ, "FONTCONFIG_FILE": str(conf), "HOME": work}
        command = [
            str(chromium),
            "--headless",
            "--no-sandbox",  # runs as root in CI and on the dev machines
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={work}/profile",
            f"--print-to-pdf={pdf}",
            html.resolve().as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    if result.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise PdfError(f"chromium exited {result.returncode}: {result.stderr[-2000:]}")
