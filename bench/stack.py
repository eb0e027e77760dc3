"""`pulumi up` of the national stack against `kubectl apply --wait` of the same manifests.

Both sides run against the same embedded platform in the same run, alternating, each from an
empty cluster to every workload ready:

* pulumi: `pulumi up --skip-preview` (creates and awaits every resource; a Service whose pods
  a workload of its component awaits is awaited through that workload, decisions/0014), with
  the workspace's `PULUMI_PARALLEL`, then `pulumi destroy`.
* kubectl: the program renders the same manifests (`nidc:renderYamlTo`, the provider's YAML
  rendering); `kubectl apply --wait` of the CRDs, `kubectl wait` for them to be Established,
  `kubectl apply --wait` of the rest, then `kubectl rollout status` of every Deployment and
  StatefulSet (what Pulumi's await does); then `kubectl delete --wait`.

The rendered files hold the stack's secrets in plain text: they are written to a 0700 folder in
the platform's state folder and deleted at the end.

    NIDC_STATE_DIR=... .venv/bin/python bench/stack.py --rounds 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import yaml

from nidc.local.platform import LocalPlatform
from nidc.local.pulumi_workspace import StackWorkspace, local_stack

STACK = "national"


def kubectl(ws: StackWorkspace, *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        ["kubectl", "--context", "platform-admin", *args],
        env=ws.env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr[-2000:]}")
    return result.stdout


def workloads(folder: Path) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every Deployment and StatefulSet in the rendered files."""
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") in ("Deployment", "StatefulSet"):
                meta = doc["metadata"]
                found.append((doc["kind"].lower(), meta["namespace"], meta["name"]))
    return found


def kubectl_round(ws: StackWorkspace, rendered: Path) -> tuple[float, float, int]:
    """Seconds to apply-and-ready, seconds to delete, objects applied."""
    crds, rest = rendered / "0-crd", rendered / "1-manifest"
    objects = len(list(rendered.rglob("*.yaml")))
    # kubectl applies files in name order: namespaces and service accounts go first, the
    # orderings the program keeps too (stacks.manifests.prerequisites).
    first = [str(p) for p in sorted(rest.glob("*-namespace-*.yaml"))]
    accounts = [str(p) for p in sorted(rest.glob("*-serviceaccount-*.yaml"))]
    started = time.monotonic()
    try:
        kubectl(ws, "apply", "--wait", "-f", str(crds))
        kubectl(ws, "wait", "--for=condition=Established", "crd", "--all", "--timeout=120s")
        kubectl(ws, "apply", "--wait", *[f"-f={p}" for p in first])
        kubectl(ws, "apply", "--wait", *[f"-f={p}" for p in accounts])
        kubectl(ws, "apply", "--wait", "-R", "-f", str(rest))
        for kind, namespace, name in workloads(rest):
            kubectl(ws, "rollout", "status", f"{kind}/{name}", "-n", namespace, "--timeout=300s")
        up = time.monotonic() - started
    finally:
        started = time.monotonic()
        kubectl(ws, "delete", "--wait", "--ignore-not-found", "-R", "-f", str(rest))
        kubectl(ws, "delete", "--wait", "--ignore-not-found", "-f", str(crds))
    return up, time.monotonic() - started, objects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    platform = LocalPlatform()
    platform.up()
    base = platform.state.root / "bench-stack"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(mode=0o700, parents=True)
    try:
        live = local_stack(platform, STACK, base / "live")
        render = local_stack(platform, STACK, base / "render")
        rendered = base / "rendered"
        render.run("config", "set", "--stack", STACK, "nidc:renderYamlTo", str(rendered))
        # No cluster for the renderer; the kubeconfig only names the API server for outputs.
        kubeconfig = render.env.pop("KUBECONFIG")
        render.run(
            "config", "set", "--stack", STACK, "--path", "nidc:kubernetes.kubeconfig", kubeconfig
        )
        render.up()
        results: dict[str, list[float]] = {
            "pulumi up": [],
            "pulumi destroy": [],
            "kubectl apply": [],
            "kubectl delete": [],
        }
        objects = 0
        for round_ in range(args.rounds):
            started = time.monotonic()
            live.up()
            results["pulumi up"].append(time.monotonic() - started)
            started = time.monotonic()
            live.destroy()
            results["pulumi destroy"].append(time.monotonic() - started)
            up, down, objects = kubectl_round(live, rendered)
            results["kubectl apply"].append(up)
            results["kubectl delete"].append(down)
            print(
                f"round {round_ + 1}: "
                + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in results.items()),
                flush=True,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"\nnational stack: {objects} objects, {args.rounds} rounds, median (min-max)\n")
    print("| step | seconds |")
    print("|---|---|")
    for key, values in results.items():
        print(f"| {key} | {statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f}) |")
    ratio = statistics.median(results["pulumi up"]) / statistics.median(results["kubectl apply"])
    print(f"\npulumi up / kubectl apply (median): {ratio:.2f}x (goal: within 2x)")


if __name__ == "__main__":
    main()
