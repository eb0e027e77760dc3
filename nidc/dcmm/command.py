"""`nidc dcmm report --html out.html [--pdf out.pdf]`: the self-assessment of the local platform."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nidc.audit.store import DEFAULT_CENTER
from nidc.dcmm.observe import read_snapshot
from nidc.dcmm.report import PdfError, assess, print_pdf, render_html
from nidc.local.platform import LocalPlatform
from nidc.local.tools.build import ensure_tools
from nidc.local.tools.manifest import binary_path


def cmd_dcmm_report(args: argparse.Namespace) -> int:
    """Score the 28 process areas from the running platform; write HTML (and PDF)."""
    snapshot = read_snapshot(LocalPlatform().env(), args.namespace, args.selector)
    scores, _ = assess(snapshot)
    html = Path(args.html)
    html.write_text(render_html(scores, args.center, snapshot.now), encoding="utf-8")
    print(f"wrote {html}: {len(scores)} process areas")
    for score in scores:
        names = score.process_area
        print(f"  {score.level}  {names.zh} {names.en}")
    if args.pdf:
        ensure_tools(["chromium"])
        try:
            print_pdf(html, Path(args.pdf), binary_path("chromium"))
        except PdfError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"wrote {args.pdf}")
    return 0


def add_dcmm_commands(sub: Any) -> None:
    """`nidc dcmm report`."""
    dcmm = sub.add_parser("dcmm", help="DCMM self-assessment (GB/T 36073-2018)").add_subparsers(
        dest="dcmm_command", required=True
    )
    report = dcmm.add_parser("report", help="score the 28 process areas from the platform")
    report.add_argument("--html", required=True, help="where to write the HTML report")
    report.add_argument("--pdf", help="also print it to this PDF (headless Chromium)")
    report.add_argument("--center", default=DEFAULT_CENTER, help="the center's name in the report")
    report.add_argument("--namespace", help="assess one tenant's namespace (default: all)")
    report.add_argument("--selector", help="assess the resources this label selector picks")
    report.set_defaults(func=cmd_dcmm_report)
