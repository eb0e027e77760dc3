"""Early warning on the one map's indicators: thresholds and trends as data
(policies/onemap/warnings.yaml), evaluated over indicator time series (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from nidc.governance.policy_files import policies_dir
from nidc.onemap.indicators import IndicatorValue, series


class WarningRule(BaseModel):
    """A threshold (`below` or `above`) or a trend (`change` over `periods`) on one indicator."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]+$")
    zh: str
    en: str
    indicator: str
    kind: Literal["threshold", "trend"]
    below: float | None = None
    above: float | None = None
    periods: int | None = Field(default=None, ge=2, le=24)
    change: float | None = None
    severity: Literal["info", "warning", "critical"] = "warning"

    @model_validator(mode="after")
    def _fields_of_kind(self) -> WarningRule:
        if self.kind == "threshold" and (self.below is None) == (self.above is None):
            raise ValueError(f"{self.id}: a threshold rule needs exactly one of below and above")
        if self.kind == "trend" and (self.periods is None or not self.change):
            raise ValueError(f"{self.id}: a trend rule needs periods and a non-zero change")
        return self


@dataclass(frozen=True)
class EarlyWarning:
    """A rule that fires for one group in the latest period."""

    rule: str
    severity: str
    indicator: str
    province: str | None
    industry: str | None
    period: str
    value: float
    message: str


def load_warning_rules(path: Path | None = None) -> list[WarningRule]:
    file = path or policies_dir() / "onemap" / "warnings.yaml"
    return [WarningRule.model_validate(row) for row in yaml.safe_load(file.read_text("utf-8"))]


def _threshold(rule: WarningRule, value: float) -> bool:
    if rule.below is not None:
        return value < rule.below
    return rule.above is not None and value > rule.above


def _trend(rule: WarningRule, points: list[float]) -> float | None:
    """The relative change over the last `periods` points when every step goes the rule's way."""
    assert rule.periods is not None and rule.change is not None
    if len(points) < rule.periods:
        return None
    window = points[-rule.periods :]
    falling = rule.change < 0
    steps = pairwise(window)
    if not all((b < a) if falling else (b > a) for a, b in steps):
        return None
    if window[0] == 0:
        return None
    moved = (window[-1] - window[0]) / abs(window[0])
    return moved if (moved <= rule.change if falling else moved >= rule.change) else None


def evaluate(rules: list[WarningRule], values: list[IndicatorValue]) -> list[EarlyWarning]:
    """Every warning firing in each group's latest period (pure)."""
    fired = []
    for rule in rules:
        for (province, industry), points in series(values, rule.indicator).items():
            known = [(period, v) for period, v in points if v is not None]
            if not known:
                continue
            period, latest = known[-1]
            where = "/".join(x for x in (province, industry) if x) or "national"
            if rule.kind == "threshold" and _threshold(rule, latest):
                limit = rule.below if rule.below is not None else rule.above
                fired.append(
                    EarlyWarning(
                        rule.id,
                        rule.severity,
                        rule.indicator,
                        province,
                        industry,
                        period,
                        latest,
                        f"{where} {period}: {rule.indicator} {latest:.4g} (limit {limit:g})",
                    )
                )
            elif rule.kind == "trend":
                moved = _trend(rule, [v for _, v in known])
                if moved is not None:
                    fired.append(
                        EarlyWarning(
                            rule.id,
                            rule.severity,
                            rule.indicator,
                            province,
                            industry,
                            period,
                            latest,
                            f"{where} {period}: {rule.indicator} moved {moved:+.1%} over "
                            f"{rule.periods} periods",
                        )
                    )
    return fired
