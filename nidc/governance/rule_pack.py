"""Rule packs: classification policies (YAML, the custom resources) compiled for the engine.

The national baseline is a ClusterClassificationPolicy in policies/classification/; a tenant's
ClassificationPolicy adds categories, detectors and overrides. A tenant may add, never remove:
a tenant detector with a baseline detector's name is kept beside it, not in its place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from nidc.api.classification_policy import (
    Category,
    ClassificationPolicySpec,
    Detector,
    DetectorKind,
    Override,
)
from nidc.governance.content_validators import VALUE_CHECKS, ValueCheck
from nidc.governance.name_tokens import WordMatcher, is_han
from nidc.governance.policy_files import policies_dir

POLICY_KINDS = ("ClusterClassificationPolicy", "ClassificationPolicy")
BASELINE_FILE = "classification/national-baseline.yaml"


class RulePackError(ValueError):
    """A policy cannot be compiled; the message names the policy and the field."""


@dataclass(frozen=True)
class CompiledDetector:
    """A detector ready to run, with the policy it came from."""

    spec: Detector
    policy: str
    name_regex: re.Pattern[str] | None = None
    content_regex: re.Pattern[str] | None = None
    words: WordMatcher | None = None
    value_check: ValueCheck | None = None

    @property
    def reads_values(self) -> bool:
        return self.spec.kind in (DetectorKind.CONTENT_REGEX, DetectorKind.CONTENT_VALIDATOR)


@dataclass(frozen=True)
class PolicyOverride:
    """An override with the policy that holds it."""

    spec: Override
    policy: str


@dataclass(frozen=True)
class RulePack:
    """Everything the column classifier needs, compiled once."""

    categories: Mapping[str, Category]
    detectors: tuple[CompiledDetector, ...]
    overrides: tuple[PolicyOverride, ...] = ()
    han_words: frozenset[str] = field(default_factory=frozenset)


def policy_label(document: Mapping[str, Any]) -> str:
    """Kind/namespace/name of a policy document, for evidence and messages."""
    metadata = document.get("metadata") or {}
    where = "/".join(p for p in (metadata.get("namespace"), metadata.get("name", "?")) if p)
    return f"{document.get('kind', '?')}/{where}"


def parse_spec(document: Mapping[str, Any]) -> ClassificationPolicySpec:
    """The typed spec of a policy document; raises RulePackError naming the field."""
    try:
        return ClassificationPolicySpec.model_validate(document.get("spec") or {})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RulePackError(f"{policy_label(document)}: spec.{where}: {first['msg']}") from error


def compile_detector(detector: Detector, policy: str) -> CompiledDetector:
    """One detector compiled; raises RulePackError for a bad regular expression."""
    try:
        pattern = re.compile(detector.pattern) if detector.pattern else None
    except re.error as error:
        raise RulePackError(
            f"{policy}: detector {detector.name}: pattern does not compile: {error}"
        ) from error
    kind = DetectorKind(detector.kind)
    return CompiledDetector(
        spec=detector,
        policy=policy,
        name_regex=pattern if kind is DetectorKind.NAME_PATTERN else None,
        content_regex=pattern if kind is DetectorKind.CONTENT_REGEX else None,
        words=WordMatcher.compile(detector.words) if kind is DetectorKind.DICTIONARY else None,
        value_check=VALUE_CHECKS[detector.validator] if detector.validator else None,
    )


def compile_policies(documents: Iterable[Mapping[str, Any]]) -> RulePack:
    """Compile cluster policies first, then namespaced ones, into one pack."""
    ordered = sorted(
        (d for d in documents if d.get("kind") in POLICY_KINDS),
        key=lambda d: POLICY_KINDS.index(str(d["kind"])),
    )
    categories: dict[str, Category] = {}
    detectors: list[CompiledDetector] = []
    overrides: list[PolicyOverride] = []
    for document in ordered:
        label = policy_label(document)
        spec = parse_spec(document)
        for category in spec.categories:
            # A tenant may refine a baseline category's title, never lower its grade.
            known = categories.get(category.id)
            if known is None or category.grade >= known.grade:
                categories[category.id] = category
        detectors.extend(compile_detector(d, label) for d in spec.detectors)
        overrides.extend(PolicyOverride(o, label) for o in spec.overrides)
    unknown = sorted({d.spec.category for d in detectors} - set(categories))
    if unknown:
        raise RulePackError(f"detectors name categories no policy defines: {unknown}")
    han_words = frozenset(word for d in detectors for word in d.spec.words if is_han(word))
    return RulePack(categories, tuple(detectors), tuple(overrides), han_words)


def read_policy_documents(path: Path) -> list[dict[str, Any]]:
    """The policy documents of one YAML file."""
    with path.open(encoding="utf-8") as stream:
        return [d for d in yaml.safe_load_all(stream) if d]


def load_baseline(extra: Iterable[Mapping[str, Any]] = ()) -> RulePack:
    """The national baseline (policies/), plus any tenant policies given."""
    return compile_policies([*read_policy_documents(policies_dir() / BASELINE_FILE), *extra])
