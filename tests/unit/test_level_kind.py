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


def test_each_level_kind_is_driven_by_its_watch_alone() -> None:
    # No kopf create/update/resume handler: kopf would write its last-handled-configuration
    # annotation on every object it hands one (a write per product that the design does not
    # need); the watch feeds the sweep, which reconciles.
    registry = kopf.get_default_registry()
    changing = [(h.id, h.reason) for h in registry._changing.get_all_handlers()]
    watching = {h.id for h in registry._watching.get_all_handlers()}
    for kind in LEVEL_KINDS:
        assert not [h for h, _ in changing if h == f"reconcile_{kind}"], kind
        assert f"index_{kind}" in watching, kind
    # Deletion handlers stay kopf's (a finalizer holds the object until they ran).
    assert {"delete_tenant", "delete_datasource", "delete_datagrant"} <= {
        handler for handler, _ in changing
    }


def test_each_level_kind_module_offers_make_sweep() -> None:
    for module in operators.main.REGISTERED:
        assert callable(module.make_sweep), module.__name__
