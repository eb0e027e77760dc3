"""One level-based pass over an ExportApproval: typed model -> observe (the shares, grants and
replications of its namespace: one LIST each) -> status (pure, build.py). It changes nothing
else: the kinds that use an approval check it themselves and end what it allowed at its
expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from nidc.api.export_approval import ExportApproval
from nidc.api.schema import API_VERSION
from nidc.kube import list_objects
from operators.clients.context import OperatorContext
from operators.exportapproval.build import USER_KINDS, build_status, users_of
from operators.reconciling.conditions import invalid_spec_status


def reconcile(body: Mapping[str, Any], ctx: OperatorContext, now: dt.datetime) -> dict[str, Any]:
    """One pass; returns the status to write."""
    try:
        approval = ExportApproval.from_body(body)
    except ValidationError as error:
        return invalid_spec_status(body, error, now)
    found = {
        kind: list_objects(ctx.api, API_VERSION, kind, approval.namespace) for kind in USER_KINDS
    }
    return build_status(approval, users_of(approval.name, found), now)
