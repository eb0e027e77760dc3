"""The product gauges' values come from the status the reconciler just computed."""

from __future__ import annotations

from operators.reconciling import metrics


def test_gate_score_and_age_follow_the_status_and_a_stale_product_drops_out() -> None:
    metrics.PRODUCT_HEALTH.clear()
    status = {
        "grade": 2,
        "quality": {"score": 0.75, "blockingFailures": ["value-in-range"]},
        "lastRun": {"phase": "Succeeded", "finishedAt": "2026-11-29T08:00:00Z"},
    }
    metrics.record_product_health("steel-plant", "gated", status)
    gate = list(metrics._product_observations(lambda h: float(bool(h.gate_passed))))
    assert [(o.value, dict(o.attributes or {})) for o in gate] == [
        (0.0, {"namespace": "steel-plant", "product": "gated", "grade": "2"})
    ]
    (age,) = metrics._product_observations(metrics._age)
    assert age.value > 0
    # A failed run later keeps the last success as the freshness point.
    metrics.record_product_health(
        "steel-plant", "gated", {**status, "lastRun": {"phase": "Failed", "finishedAt": None}}
    )
    assert metrics.PRODUCT_HEALTH[("steel-plant", "gated")].last_success is not None
    # Not reconciled for longer than the stale limit: the product was deleted.
    health = metrics.PRODUCT_HEALTH[("steel-plant", "gated")]
    metrics.PRODUCT_HEALTH[("steel-plant", "gated")] = health.__class__(
        **{**health.__dict__, "recorded": health.recorded - metrics.PRODUCT_STALE_SECONDS - 1}
    )
    assert list(metrics._product_observations(lambda h: h.quality_score)) == []
    assert ("steel-plant", "gated") not in metrics.PRODUCT_HEALTH
