"""`python -m operators`: the operator process (what `nidc operator run` and the stack's
Deployment start).

It reads its whole configuration from the environment (operators/clients/settings.py); locally,
`nidc operator run` prepares that environment (nidc/local/operator_access.py) and then replaces
itself with this program, so the command line never imports the operators (layering: nidc sits
below operators).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import sys
from collections.abc import Sequence

import kopf

from nidc.api.kopf_peering import PEERING_NAME
from operators import main as operator_main
from operators.replicas.peering import priority_from_start


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m operators", description=__doc__)
    parser.add_argument("--liveness", default=None, help="e.g. http://127.0.0.1:8080/healthz")
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="no peering with other replicas (a single operator that never pauses)",
    )
    parser.add_argument(
        "--peering",
        default=PEERING_NAME,
        help=f"ClusterKopfPeering the replicas share (default {PEERING_NAME})",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run every kind's handlers until stopped."""
    args = build_parser().parse_args(argv)
    # The pod name on a cluster; a restarted container keeps it and takes over at once.
    identity = os.environ.get("NIDC_OPERATOR_IDENTITY") or socket.gethostname()
    os.environ["NIDC_OPERATOR_IDENTITY"] = identity
    priority = priority_from_start(dt.datetime.now(dt.UTC))
    print(f"operator running (handlers: {len(operator_main.REGISTERED)} kinds)", file=sys.stderr)
    kopf.configure(verbose=False, log_format=kopf.LogFormat.JSON)
    kopf.run(
        clusterwide=True,
        standalone=args.standalone,
        peering_name=None if args.standalone else args.peering,
        priority=priority,
        identity=identity,  # type: ignore[arg-type]  # kopf types it as a private NewType of str
        liveness_endpoint=args.liveness,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
