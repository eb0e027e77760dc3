"""Every level-based kind registers the same handlers through register_level_kind."""

from __future__ import annotations

import kopf

import operators.main  # imports every kind's register.py

LEVEL_KINDS = [
    "tenant",
    "datasource",
    "dataproduct",
    "datareplication",
    "datagrant",
    "classificationpolicy",
    "clusterclassificationpolicy",
]


def test_each_level_kind_reconciles_on_resume_create_and_update_and_feeds_its_sweep() -> None:
    registry = kopf.get_default_registry()
    changing = [(h.id, h.reason) for h in registry._changing.get_all_handlers()]
    watching = {h.id for h in registry._watching.get_all_handlers()}
    for kind in LEVEL_KINDS:
        reasons = {reason for handler, reason in changing if handler == f"reconcile_{kind}"}
        # kopf's resume handlers carry no reason; create and update carry theirs.
        assert reasons == {None, "create", "update"}, (kind, reasons)
        assert f"index_{kind}" in watching, kind
    assert {"delete_tenant", "delete_datasource", "delete_datagrant"} <= {
        handler for handler, _ in changing
    }


def test_each_level_kind_module_offers_make_sweep() -> None:
    for module in operators.main.REGISTERED:
        assert callable(module.make_sweep), module.__name__
