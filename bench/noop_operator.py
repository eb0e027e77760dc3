"""The peer of bench/operator.py: a kopf operator that does nothing but say Ready.

Same kopf version, same watch of DataProducts, same status shape (a Ready condition with
observedGeneration); no inputs, no runs, no jobs. Whatever our operator takes beyond this is the
cost of its real work. Run: `python -m bench.noop_operator` with KUBECONFIG set.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="noop.bench")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix="noop.bench")
    settings.posting.enabled = False


@kopf.on.resume(GROUP, VERSION, "dataproducts")
@kopf.on.create(GROUP, VERSION, "dataproducts")
def ready(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    generation = body["metadata"].get("generation", 1)
    patch.status["observedGeneration"] = generation
    patch.status["conditions"] = [
        {
            "type": "Ready",
            "status": "True",
            "reason": "NoOp",
            "message": "the no-op peer marks everything Ready",
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }
    ]


if __name__ == "__main__":
    kopf.configure(verbose=False)
    kopf.run(clusterwide=True, standalone=True)
