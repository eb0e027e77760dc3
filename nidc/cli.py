"""The `nidc` command line: the local platform, the tool cache, quality history and the demo."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nidc.api.kopf_peering import PEERING_NAME
from nidc.audit import reading as audit_reading
from nidc.audit.record import Resource
from nidc.audit.store import DEFAULT_BUCKET as DEFAULT_AUDIT_BUCKET
from nidc.audit.store import DEFAULT_CENTER
from nidc.audit.transit import DEFAULT_KEY as DEFAULT_AUDIT_KEY
from nidc.audit.transit import TransitKeyError
from nidc.catalog.client import CatalogClientError
from nidc.dcmm.command import add_dcmm_commands
from nidc.lineage.cli import add_lineage_command
from nidc.local.operator_access import prepare as prepare_operator_access
from nidc.local.platform import LocalPlatform, PlatformError, ServerStatus, shell_exports
from nidc.local.tools.build import ensure_tools
from nidc.local.tools.builders import BuildError


def format_status_table(rows: Sequence[ServerStatus]) -> str:
    """A fixed-width health table, one server a line."""
    lines = [f"{'SERVER':<24} {'PID':>8}  {'STATE':<9} DETAIL"]
    for row in rows:
        state = "healthy" if row.healthy else ("unhealthy" if row.running else "down")
        pid = str(row.pid) if row.pid else "-"
        lines.append(f"{row.name:<24} {pid:>8}  {state:<9} {row.detail}")
    return "\n".join(lines)


def cmd_tools_build(args: argparse.Namespace) -> int:
    ensure_tools(args.names or None)
    return 0


def cmd_local_up(args: argparse.Namespace) -> int:
    platform = LocalPlatform()
    print(f"starting the local platform in {platform.state.root}", file=sys.stderr)
    platform.up()
    print(format_status_table(platform.status()))
    return 0


def cmd_local_down(args: argparse.Namespace) -> int:
    LocalPlatform().down()
    print("local platform stopped: no process and no port left")
    return 0


def cmd_local_status(args: argparse.Namespace) -> int:
    rows = LocalPlatform().status()
    print(format_status_table(rows))
    # Non-zero when anything is down, so scripts can test `nidc local status`.
    return 0 if all(r.healthy for r in rows) else 1


def cmd_local_env(args: argparse.Namespace) -> int:
    env = LocalPlatform().env()
    print(json.dumps(env, indent=2, sort_keys=True) if args.json else shell_exports(env))
    return 0


def cmd_local_logs(args: argparse.Namespace) -> int:
    platform = LocalPlatform()
    names = [s.name for s in platform.servers]
    if args.name not in names:
        print(f"unknown server {args.name!r}; servers: {', '.join(names)}", file=sys.stderr)
        return 2
    log = platform.state.log(args.name)
    if not log.exists():
        print(f"no log yet at {log}", file=sys.stderr)
        return 1
    lines = log.read_text(errors="replace").splitlines()
    print("\n".join(lines[-args.lines :]))
    return 0


def cmd_api_generate(args: argparse.Namespace) -> int:
    from nidc.api.generate import write_all

    repo = Path(__file__).resolve().parent.parent
    for path in write_all(repo):
        print(f"wrote {path.relative_to(repo)}")
    return 0


def format_analytics_table() -> str:
    """The analytics registry, one analytic a line, with its parameters and their defaults."""
    from nidc.api.analytics import ANALYTICS

    lines = [f"{'ANALYTIC':<22} {'PARAMETERS (defaults)':<62} DESCRIPTION"]
    for definition in ANALYTICS:
        defaults = definition.parameters().model_dump(by_alias=True)
        parameters = ", ".join(f"{name}={value}" for name, value in defaults.items())
        lines.append(f"{definition.ref:<22} {parameters:<62} {definition.description}")
    return "\n".join(lines)


def cmd_analytics_ls(args: argparse.Namespace) -> int:
    if args.json:
        from nidc.api.analytics import registry_listing

        print(json.dumps(registry_listing(), indent=2, sort_keys=True))
    else:
        print(format_analytics_table())
    return 0


def cmd_quality_history(args: argparse.Namespace) -> int:
    from nidc.governance.quality_history import (
        read_history,
        render_table,
        rule_series,
        write_chart,
    )

    namespace, _, name = args.product.rpartition("/")
    if not namespace or not name:
        print("error: name the product as NAMESPACE/NAME", file=sys.stderr)
        return 2
    resource = f"DataProduct/{namespace}/{name}"
    series = rule_series(read_history(LocalPlatform().env(), namespace), resource)
    if not series:
        print(f"no quality runs recorded for {resource}", file=sys.stderr)
        return 1
    print(render_table(series))
    if args.chart:
        write_chart(series, f"quality of {resource}", Path(args.chart))
        print(f"chart: {args.chart}")
    return 0


def cmd_operator_run(args: argparse.Namespace) -> int:
    """Become the operator process (`python -m operators`), locally with its environment.

    The operators sit above nidc in the layering, so this command starts them as a program
    instead of importing them. exec, not a child process: the pid stays the one the caller
    started (a test's kill, a supervisor's signal reach the operator itself).
    """
    env = dict(os.environ)
    if "NIDC_KUBE_API_URL" not in env:
        # Off a cluster: install CRDs and the operator's identity on the local platform, and
        # hand the operator the environment a pod would have.
        env.update(prepare_operator_access(LocalPlatform().env()))
    argv = [sys.executable, "-m", "operators", *operator_args(args)]
    os.execve(sys.executable, argv, env)  # noqa: S606 (argv is ours, no shell)
    return 0  # not reached


def operator_args(args: argparse.Namespace) -> list[str]:
    """The `python -m operators` arguments of `nidc operator run`'s options (pure)."""
    argv = ["--peering", args.peering]
    if args.standalone:
        argv.append("--standalone")
    if args.liveness:
        argv += ["--liveness", args.liveness]
    return argv


def cmd_demo(args: argparse.Namespace) -> int:
    """The example factory on the embedded platform (nidc/demo/walkthrough.py)."""
    from nidc.demo.walkthrough import run

    return run(timeout=args.timeout)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check one center's log (chain and every checkpoint's signature); 1 on any problem."""
    store, signer = audit_reading.clients(LocalPlatform().env(), args.bucket, args.key)
    try:
        report = audit_reading.verify_center(store, signer, args.center)
    except TransitKeyError as error:  # no key: nothing can be verified
        print(f"error: {error}", file=sys.stderr)
        return 1
    except audit_reading.UNREACHABLE as error:
        print(f"error: {audit_reading.unreachable(error)}", file=sys.stderr)
        return 1
    print(audit_reading.format_report(report))
    return 0 if report.ok else 1


def cmd_audit_show(args: argparse.Namespace) -> int:
    """The records of one center, filtered by resource and time."""
    try:
        resource = Resource.parse(args.resource) if args.resource else None
        since = audit_reading.parse_time(args.since) if args.since else None
        until = audit_reading.parse_time(args.until) if args.until else None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    store, _ = audit_reading.clients(LocalPlatform().env(), args.bucket, args.key)
    try:
        records = audit_reading.read_records(store, args.center)
    except audit_reading.UNREACHABLE as error:
        print(f"error: {audit_reading.unreachable(error)}", file=sys.stderr)
        return 1
    chosen = audit_reading.select(records, resource, since, until)
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in chosen], indent=2))
    else:
        print(audit_reading.format_records(chosen))
    return 0


def add_audit_commands(sub: Any) -> None:
    """`nidc audit verify` and `nidc audit show`."""
    audit = sub.add_parser("audit", help="the tamper-evident audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    verify = audit.add_parser("verify", help="check the chain and every checkpoint signature")
    show = audit.add_parser("show", help="records, filtered by resource and time")
    for parser in (verify, show):
        parser.add_argument("--center", default=DEFAULT_CENTER, help="whose log")
        parser.add_argument("--bucket", default=DEFAULT_AUDIT_BUCKET, help="the audit bucket")
        parser.add_argument("--key", default=DEFAULT_AUDIT_KEY, help="the transit signing key")
    verify.set_defaults(func=cmd_audit_verify)
    show.add_argument("--resource", help="KIND/NAMESPACE/NAME (namespace empty: cluster-wide)")
    show.add_argument("--since", help="ISO 8601 time, inclusive (no zone: UTC)")
    show.add_argument("--until", help="ISO 8601 time, exclusive (no zone: UTC)")
    show.add_argument("--json", action="store_true", help="as JSON")
    show.set_defaults(func=cmd_audit_show)


def catalog_client(args: argparse.Namespace) -> Any:
    from nidc.catalog.client import CatalogClient

    return CatalogClient.local(LocalPlatform().env(), args.identity)


def catalog_filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "tenant": args.tenant,
        "layer": args.layer,
        "domain": args.domain,
        "grade": args.grade,
        "owner": args.owner,
    }


def cmd_catalog_ls(args: argparse.Namespace) -> int:
    from nidc.catalog import commands

    return commands.list_or_search(catalog_client(args), catalog_filters(args), None, args.json)


def cmd_catalog_search(args: argparse.Namespace) -> int:
    from nidc.catalog import commands

    text = " ".join(args.text)
    return commands.list_or_search(catalog_client(args), catalog_filters(args), text, args.json)


def cmd_catalog_show(args: argparse.Namespace) -> int:
    from nidc.catalog import commands

    return commands.show(catalog_client(args), args.table, args.json)


def cmd_catalog_rebuild(args: argparse.Namespace) -> int:
    from nidc.catalog import commands
    from nidc.catalog.settings import CatalogSettings
    from nidc.local.servers.catalog_api import CatalogApi

    platform = LocalPlatform()
    platform.env()  # fails naming the state folder when no platform runs there
    settings = CatalogSettings.from_env(CatalogApi().env(platform.ctx))
    return commands.rebuild(settings)


def cmd_catalog_analytics(args: argparse.Namespace) -> int:
    from nidc.catalog import commands

    return commands.analytics(catalog_client(args), args.json)


def add_catalog_commands(sub: Any) -> None:
    """`nidc catalog ls | show TABLE | search TEXT | rebuild | analytics`."""
    catalog = sub.add_parser("catalog", help="the asset catalog").add_subparsers(
        dest="catalog_command", required=True
    )
    listing = catalog.add_parser("ls", help="assets you may see, filtered")
    search = catalog.add_parser("search", help="names, columns, Chinese text, domain, owner")
    search.add_argument("text", nargs="+", help="words to find (all must match)")
    show = catalog.add_parser("show", help="one asset: schema, classification, lineage, access")
    show.add_argument("table", help="TENANT/LAYER.NAME, or LAYER.NAME when only one matches")
    for parser in (listing, search, show):
        parser.add_argument(
            "--as",
            dest="identity",
            default="platform-admin",
            help="the identity to ask as (a kubeconfig context: platform-admin, "
            "steel-plant-analyst, ...)",
        )
        parser.add_argument("--json", action="store_true", help="as JSON")
    for parser in (listing, search):
        parser.add_argument("--tenant")
        parser.add_argument("--layer", help="bronze, silver, gold, quarantine, governed, ...")
        parser.add_argument("--domain", help="MIIT data domain, e.g. production-operation")
        parser.add_argument("--grade", type=int, choices=(1, 2, 3))
        parser.add_argument("--owner", help="part of the owner's name or e-mail")
    listing.set_defaults(func=cmd_catalog_ls)
    search.set_defaults(func=cmd_catalog_search)
    show.set_defaults(func=cmd_catalog_show)
    catalog.add_parser(
        "rebuild", help="drop the index and rebuild it from the resources and Delta logs"
    ).set_defaults(func=cmd_catalog_rebuild)
    analytics = catalog.add_parser(
        "analytics", help="the shared algorithm library: published analytics, name@version"
    )
    analytics.add_argument("--as", dest="identity", default="platform-admin")
    analytics.add_argument("--json", action="store_true", help="as JSON")
    analytics.set_defaults(func=cmd_catalog_analytics)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `nidc`."""
    parser = argparse.ArgumentParser(prog="nidc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    tools = sub.add_parser("tools", help="the tool cache of real servers").add_subparsers(
        dest="tools_command", required=True
    )
    build = tools.add_parser("build", help="build or reuse every tool of the manifest")
    build.add_argument("names", nargs="*", help="only these tools (default: all)")
    build.set_defaults(func=cmd_tools_build)

    local = sub.add_parser("local", help="the embedded local platform").add_subparsers(
        dest="local_command", required=True
    )
    local.add_parser("up", help="start every server (idempotent)").set_defaults(func=cmd_local_up)
    local.add_parser("down", help="stop every server").set_defaults(func=cmd_local_down)
    local.add_parser("status", help="health of every server").set_defaults(func=cmd_local_status)
    env = local.add_parser("env", help="endpoints and client settings")
    env.add_argument("--json", action="store_true", help="as JSON (secrets as file paths)")
    env.set_defaults(func=cmd_local_env)
    logs = local.add_parser("logs", help="the log of one server")
    logs.add_argument("name")
    logs.add_argument("-n", "--lines", type=int, default=100)
    logs.set_defaults(func=cmd_local_logs)

    api = sub.add_parser("api", help="the custom resource API").add_subparsers(
        dest="api_command", required=True
    )
    api.add_parser("generate", help="write crds/ and docs/api.md from nidc/api").set_defaults(
        func=cmd_api_generate
    )

    analytics = sub.add_parser("analytics", help="the analytics registry").add_subparsers(
        dest="analytics_command", required=True
    )
    listing = analytics.add_parser("ls", help="list the named, versioned analytics")
    listing.add_argument("--json", action="store_true", help="with the parameters' JSON schema")
    listing.set_defaults(func=cmd_analytics_ls)

    quality = sub.add_parser("quality", help="data quality").add_subparsers(
        dest="quality_command", required=True
    )
    history = quality.add_parser("history", help="each rule's metric over time, per run")
    history.add_argument("product", help="the DataProduct, as NAMESPACE/NAME")
    history.add_argument("--chart", default=None, help="also write an SVG chart to this file")
    history.set_defaults(func=cmd_quality_history)

    operator = sub.add_parser("operator", help="the kopf operators").add_subparsers(
        dest="operator_command", required=True
    )
    run = operator.add_parser("run", help="run the operators (locally: on the embedded platform)")
    run.add_argument("--liveness", default=None, help="e.g. http://127.0.0.1:8080/healthz")
    run.add_argument(
        "--standalone",
        action="store_true",
        help="no peering with other replicas (a single operator that never pauses)",
    )
    run.add_argument(
        "--peering",
        default=PEERING_NAME,
        help=f"ClusterKopfPeering the replicas share (default {PEERING_NAME})",
    )
    run.set_defaults(func=cmd_operator_run)

    add_audit_commands(sub)
    add_dcmm_commands(sub)
    add_catalog_commands(sub)
    demo = sub.add_parser("demo", help="the example factory on the embedded platform, to Ready")
    demo.add_argument(
        "--timeout", type=float, default=900, help="seconds to wait for Ready (default 900)"
    )
    demo.set_defaults(func=cmd_demo)
    add_lineage_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `nidc` console script."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except (PlatformError, BuildError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except CatalogClientError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
