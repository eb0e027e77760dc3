"""Alert rule packs (policies/alerts/*.yaml) and their rendering into Prometheus rule groups.

A pack is one rule group. Its thresholds are parameters with one value per profile (`cluster`
for the stacks, `local` for the embedded platform), written into the rules as `${name}`; the
rendering is pure, so the stack component, the local server and the tests all see one result.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from nidc.governance.policy_files import policies_dir

Profile = Literal["cluster", "local"]
PROFILES: tuple[Profile, ...] = ("cluster", "local")
ALERTS_FOLDER = "alerts"
# The scrape job of the collector's metrics endpoint, locally and on a cluster; the rule
# MetricsPipelineDown (policies/alerts/runs.yaml) watches its `up`.
SCRAPE_JOB = "nidc-otel-collector"
_PARAMETER = re.compile(r"\$\{(\w+)\}")
_DURATION = r"^[0-9]+(ms|s|m|h|d)$"


class AlertRuleError(ValueError):
    """A rule pack that cannot be rendered; the message names the file and the field."""


class PerProfile(BaseModel):
    """One value for the cluster and one for the local platform."""

    model_config = ConfigDict(extra="forbid")

    cluster: str | int | float
    local: str | int | float

    def value(self, profile: Profile) -> str | int | float:
        return self.cluster if profile == "cluster" else self.local


class Alert(BaseModel):
    """One alerting rule: a PromQL expression and what to say when it fires."""

    model_config = ConfigDict(extra="forbid")

    alert: str = Field(pattern=r"^[A-Z][A-Za-z0-9]+$")
    expr: str
    for_: PerProfile = Field(alias="for")
    severity: Literal["info", "warning", "critical"]
    summary: str
    description: str


class AlertPack(BaseModel):
    """One file of policies/alerts: a rule group."""

    model_config = ConfigDict(extra="forbid")

    group: str = Field(pattern=r"^[a-z][a-z0-9-]+$")
    interval: PerProfile
    parameters: dict[str, PerProfile] = Field(default_factory=dict)
    alerts: list[Alert] = Field(min_length=1)


def substitute(text: str, values: dict[str, str | int | float], where: str) -> str:
    """Write the parameters' values into `${name}` places (pure); an unknown name is an error."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise AlertRuleError(f"{where}: unknown parameter ${{{name}}}")
        return str(values[name])

    return _PARAMETER.sub(value, text)


def _duration(value: str | int | float, where: str) -> str:
    text = str(value)
    if not re.match(_DURATION, text):
        raise AlertRuleError(f"{where}: {text!r} is not a duration like 30s, 5m or 1h")
    return text


def render_group(pack: AlertPack, profile: Profile, source: str = "pack") -> dict[str, Any]:
    """The Prometheus rule group of one pack for one profile (pure)."""
    values = {name: p.value(profile) for name, p in pack.parameters.items()}
    rules = []
    for index, alert in enumerate(pack.alerts):
        where = f"{source}: alerts[{index}] ({alert.alert})"
        rules.append(
            {
                "alert": alert.alert,
                "expr": substitute(alert.expr, values, f"{where}.expr"),
                "for": _duration(alert.for_.value(profile), f"{where}.for"),
                "labels": {"severity": alert.severity, "source": "nidc"},
                "annotations": {
                    "summary": substitute(alert.summary, values, f"{where}.summary"),
                    "description": substitute(
                        alert.description.strip(), values, f"{where}.description"
                    ),
                },
            }
        )
    return {
        "name": pack.group,
        "interval": _duration(pack.interval.value(profile), f"{source}: interval"),
        "rules": rules,
    }


def load_pack(path: Path) -> AlertPack:
    """Read and check one rule pack file."""
    try:
        return AlertPack.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValueError as error:
        raise AlertRuleError(f"{path.name}: {error}") from error


def load_packs(folder: Path | None = None) -> list[AlertPack]:
    """Every pack under policies/alerts, in file-name order."""
    root = folder or policies_dir() / ALERTS_FOLDER
    return [load_pack(path) for path in sorted(root.glob("*.yaml"))]


def render_rules(packs: list[AlertPack], profile: Profile) -> dict[str, Any]:
    """A Prometheus rule file (`groups: [...]`) of all packs (pure); group names are unique."""
    names = [pack.group for pack in packs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise AlertRuleError(f"rule groups named twice: {repeated}")
    return {"groups": [render_group(pack, profile, pack.group) for pack in packs]}


def rules_yaml(profile: Profile, folder: Path | None = None) -> str:
    """The rule file Prometheus loads, as YAML text."""
    return yaml.safe_dump(render_rules(load_packs(folder), profile), sort_keys=False)
