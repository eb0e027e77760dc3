"""The registry of named, versioned analytics a DataProduct references as `name@version`.

The kernels live in spark_jobs/analytics; the names, versions and typed parameters live here so
that admission (the DataProduct CRD), the operator and `nidc analytics ls` share one definition.
A version, once published, never changes meaning: a new meaning is a new version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Any

from pydantic import Field, field_validator

from nidc.api.schema import Model

WindowSeconds = Annotated[
    int, Field(ge=1, le=86400, description="Length of one window, in seconds (windows per asset).")
]
SampleRateHz = Annotated[
    float,
    Field(
        ge=0.001,
        le=1.0e6,
        description="Samples per second; without it, taken from the median sample spacing.",
    ),
]
BandEdgesHz = Annotated[
    list[Annotated[float, Field(ge=0.0, le=1.0e6)]],
    Field(
        min_length=2,
        max_length=33,
        description="Ascending frequency band edges in Hz; band i is [edge i, edge i+1).",
    ),
]
Threshold = Annotated[
    float,
    Field(
        ge=1.0,
        le=100.0,
        description="A window is anomalous when its largest robust z-score over its features "
        "exceeds this.",
    ),
]


class VibrationHealthParameters(Model):
    """Parameters of vibration_health@1: spectral and time-domain health per window."""

    window_seconds: WindowSeconds = Field(default=60, alias="windowSeconds")
    sample_rate_hz: SampleRateHz | None = Field(default=None, alias="sampleRateHz")
    band_edges_hz: BandEdgesHz = Field(
        default_factory=lambda: [0.0, 10.0, 100.0, 1000.0], alias="bandEdgesHz"
    )
    threshold: Threshold = Field(default=6.0)

    @field_validator("band_edges_hz")
    @classmethod
    def _ascending(cls, edges: list[float]) -> list[float]:
        if any(b <= a for a, b in pairwise(edges)):
            raise ValueError("bandEdgesHz must be strictly ascending")
        return edges


class AnomalyDetectionParameters(Model):
    """Parameters of anomaly_detection@1: time-domain features and a robust anomaly score."""

    window_seconds: WindowSeconds = Field(default=3600, alias="windowSeconds")
    threshold: Threshold = Field(default=6.0)


class AnalyticsParameters(Model):
    """Parameters of the named analytic in spec.transform.job (which ones apply depends on it)."""

    # The union of every analytic's parameters, none defaulted here: the analytic's own model
    # holds the defaults, and admission refuses a parameter the named analytic does not take.
    window_seconds: WindowSeconds | None = Field(default=None, alias="windowSeconds")
    sample_rate_hz: SampleRateHz | None = Field(default=None, alias="sampleRateHz")
    band_edges_hz: BandEdgesHz | None = Field(
        default=None,
        alias="bandEdgesHz",
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.isSorted() && self.all(e, self.exists_one(f, f == e))",
                    "message": "bandEdgesHz must be strictly ascending",
                }
            ]
        },
    )
    threshold: Threshold | None = Field(default=None)


@dataclass(frozen=True)
class AnalyticDefinition:
    """One named, versioned analytic."""

    name: str
    version: int
    description: str
    parameters: type[Model]
    spectral: bool

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


ANALYTICS: tuple[AnalyticDefinition, ...] = (
    AnalyticDefinition(
        name="vibration_health",
        version=1,
        description="Per asset and window: band energies (FFT), RMS, peak, kurtosis, crest "
        "factor, trend, drift and a robust anomaly score.",
        parameters=VibrationHealthParameters,
        spectral=True,
    ),
    AnalyticDefinition(
        name="anomaly_detection",
        version=1,
        description="Per asset and window: mean, RMS, peak, kurtosis, crest factor, trend, "
        "drift and a robust anomaly score (no spectrum; slow process signals).",
        parameters=AnomalyDetectionParameters,
        spectral=False,
    ),
)


class AnalyticRef(StrEnum):
    """The `name@version` of every published analytic (tests check it matches ANALYTICS)."""

    VIBRATION_HEALTH_1 = "vibration_health@1"
    ANOMALY_DETECTION_1 = "anomaly_detection@1"


class UnknownAnalyticError(ValueError):
    """A reference to no published analytic."""


def registry_listing() -> list[dict[str, Any]]:
    """The registry as data: what `nidc analytics ls --json` prints and the catalog serves."""
    return [
        {
            "ref": d.ref,
            "name": d.name,
            "version": d.version,
            "description": d.description,
            "spectral": d.spectral,
            "parameters": d.parameters.model_json_schema(by_alias=True),
        }
        for d in ANALYTICS
    ]


def analytic(ref: str) -> AnalyticDefinition:
    """The analytic a `name@version` names."""
    for definition in ANALYTICS:
        if definition.ref == ref:
            return definition
    known = ", ".join(d.ref for d in ANALYTICS)
    raise UnknownAnalyticError(f"unknown analytic {ref!r}; known: {known}")


def analytic_parameters(ref: str, given: AnalyticsParameters | Mapping[str, Any] | None) -> Model:
    """The analytic's typed parameters, defaults filled in (refuses ones it does not take)."""
    if isinstance(given, AnalyticsParameters):
        raw: Mapping[str, Any] = given.model_dump(by_alias=True, exclude_none=True)
    else:
        raw = given or {}
    return analytic(ref).parameters.model_validate(raw)


def _wire_names(model: type[Model]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def analytic_parameter_rules() -> list[dict[str, str]]:
    """CEL rules (on DataProduct spec) refusing a parameter the named analytic does not take."""
    rules = [
        {
            "rule": "!has(self.transform.parameters) || has(self.transform.job)",
            "message": "spec.transform.parameters needs spec.transform.job (a named analytic)",
            "fieldPath": ".transform.parameters",
        }
    ]
    every = _wire_names(AnalyticsParameters)
    for definition in ANALYTICS:
        taken = set(_wire_names(definition.parameters))
        for name in every:
            if name in taken:
                continue
            rules.append(
                {
                    "rule": f"!has(self.transform.job) || self.transform.job != '{definition.ref}'"
                    " || !has(self.transform.parameters)"
                    f" || !has(self.transform.parameters.{name})",
                    "message": f"spec.transform.parameters.{name} is not a parameter of "
                    f"{definition.ref}",
                    "fieldPath": f".transform.parameters.{name}",
                }
            )
    return rules


def compute_note(pool: str, devices: list[str]) -> str:
    """What a run's status says about where an analytic computed, e.g. on the local platform."""
    if not devices:
        return "no windows computed"
    on_gpu = [d for d in devices if d != "cpu"]
    if pool == "gpu" and not on_gpu:
        return "computed on the CPU path: no GPU was assigned to the run's tasks"
    return "computed on " + ", ".join(devices)
