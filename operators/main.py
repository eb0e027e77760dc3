"""The operator process: kopf settings, start-up, and every kind's registration module.

Run with `nidc operator run` (locally) or as the Deployment the stacks create.
"""

from __future__ import annotations

import os
from typing import Any

import kopf

from nidc.api.common import GROUP
from nidc.telemetry.tracing import setup_tracing
from operators.context import OperatorContext
from operators.dataproduct import register as dataproduct_register
from operators.pipelinerun import register as pipelinerun_register
from operators.settings import OperatorSettings
from operators.tenant import register as tenant_register

REGISTERED = (tenant_register, dataproduct_register, pipelinerun_register)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # kopf's own bookkeeping stays out of status: progress and diff-base in annotations under
    # our prefix, and our own finalizer name (STYLE 7; kopf#574).
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.posting.level = 20  # INFO and above become Kubernetes events
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    setup_tracing(os.environ.get("OTEL_SERVICE_NAME", "nidc-operator"))
    memo.context = OperatorContext.create(OperatorSettings.from_env())
