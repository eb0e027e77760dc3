"""The design floor of bench/operator.py: the least a kopf operator does to take a DataProduct
to Ready through its driver Job.

On a DataProduct's watch event it creates (or adopts, by name) the ConfigMap and driver Job our
Kubernetes runner submits for a run: same builder, same pool, owned by the product. When that
Job is Complete it writes the product's Ready status, once. It keeps no run record, reads no
inputs, posts no events, writes no audit and watches no pods; with watch handlers only, kopf
writes nothing of its own on the objects.

What it takes beyond the Jobs alone is what any kopf operator on this machine adds: its watch,
its handler queue and a status write. What ours takes beyond it is our design's own cost.
Run: `python -m bench.minimal_operator` with the operator's environment (KUBECONFIG and the
runner's settings, as bench/operator.py passes them).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from nidc.kube import apply, create_if_absent, in_cluster_or_kubeconfig, patch_status

API_VERSION = f"{GROUP}/{VERSION}"
FIELD_MANAGER = "bench-minimal-operator"


class Peer:
    """The runner (our manifests) and what the peer has already done in memory."""

    def __init__(self) -> None:
        from operators.clients.context import make_runner
        from operators.clients.settings import OperatorSettings
        from operators.runs.kubernetes_runner import KubernetesRunner

        self.api = in_cluster_or_kubeconfig()
        runner = make_runner(OperatorSettings.from_env(), self.api)
        assert isinstance(runner, KubernetesRunner)
        self.runner = runner
        self.identities: set[str] = set()
        self.submitted: set[tuple[str, str]] = set()
        self.ready: set[tuple[str, str]] = set()
        self.lock = threading.Lock()


PEER: Peer | None = None


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    global PEER
    settings.posting.enabled = False
    PEER = Peer()


@kopf.on.event(GROUP, VERSION, "dataproducts")
def product_event(
    event: kopf.RawEvent, body: kopf.Body, name: str, namespace: str | None, uid: str, **_: Any
) -> None:
    """A watch handler, as ours is (decision 0310): kopf keeps no annotation of its own."""
    from operators.runs.runner import RunRef

    assert PEER is not None and namespace is not None
    conditions = (body.get("status") or {}).get("conditions") or []
    if event.get("type") == "DELETED" or any(c.get("type") == "Ready" for c in conditions):
        return
    with PEER.lock:
        if (namespace, name) in PEER.submitted:
            return
        PEER.submitted.add((namespace, name))
    owner = {
        "apiVersion": API_VERSION,
        "kind": "DataProduct",
        "name": name,
        "uid": uid,
        "controller": True,
    }
    with PEER.lock:
        identity_needed = namespace not in PEER.identities
    for manifest in PEER.runner.manifests(RunRef(namespace, name, uid), 1, {"type": "transform"}):
        if manifest["kind"] in ("ConfigMap", "Job"):
            manifest["metadata"]["ownerReferences"] = [owner]
            create_if_absent(PEER.api, manifest, field_manager=FIELD_MANAGER)
        elif identity_needed:  # the namespace's driver identity, once, as our runner applies it
            apply(PEER.api, manifest, field_manager=FIELD_MANAGER)
    with PEER.lock:
        PEER.identities.add(namespace)


@kopf.on.event("batch", "v1", "jobs", labels={f"{GROUP}/run": kopf.PRESENT})
def job_event(body: kopf.Body, namespace: str | None, **_: Any) -> None:
    assert PEER is not None and namespace is not None
    conditions = (body.get("status") or {}).get("conditions") or []
    if not any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions):
        return
    product = body["metadata"]["labels"][f"{GROUP}/run"]
    with PEER.lock:
        if (namespace, product) in PEER.ready:
            return
        PEER.ready.add((namespace, product))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch_status(
        PEER.api,
        {
            "apiVersion": API_VERSION,
            "kind": "DataProduct",
            "metadata": {"name": product, "namespace": namespace},
        },
        {
            "observedGeneration": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "JobComplete",
                    "message": "the driver Job completed",
                    "lastTransitionTime": now,
                    "observedGeneration": 1,
                }
            ],
        },
    )


if __name__ == "__main__":
    kopf.configure(verbose=False)
    kopf.run(clusterwide=True, standalone=True)
