"""kopf registration for the cluster baseline policies: decorators only (see reconcile)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from nidc.api.schema import GROUP, VERSION
from operators.clients.context import OperatorContext
from operators.clusterclassificationpolicy import reconcile
from operators.reconciling.errors import retry_when_unavailable
from operators.reconciling.events import post_transition
from operators.reconciling.metrics import measured
from operators.reconciling.status import changed_fields

PLURAL = "clusterclassificationpolicies"


# The timer re-reviews when what the policy depends on changes elsewhere (the baseline, an
# approval that lapses).
@kopf.on.resume(GROUP, VERSION, PLURAL)
@kopf.on.create(GROUP, VERSION, PLURAL)
@kopf.on.update(GROUP, VERSION, PLURAL)
@kopf.timer(GROUP, VERSION, PLURAL, interval=120, idle=30)
@retry_when_unavailable
@measured("ClusterClassificationPolicy")
def reconcile_clusterclassificationpolicy(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    context: OperatorContext = memo.context
    previous = dict(body.get("status") or {})
    status = reconcile.reconcile(dict(body), context, dt.datetime.now(dt.UTC))
    patch.status.update(changed_fields(previous, status))
    post_transition(context.api, dict(body), previous, status)
