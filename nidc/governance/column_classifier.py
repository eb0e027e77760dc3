"""Classify one column from its name, a sample of its values and its declared tags (pure).

Every detector of the rule pack looks at the column; each hit is evidence. The column takes the
category of the highest-grade hit (就高从严: the strictest reading wins), and its confidence grows
when several detectors agree on that category. A column no detector recognises is grade 1 with
the category `unclassified` and a low confidence, so a reviewer can find it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nidc.api.classification_policy import DetectorKind
from nidc.governance.grades import level_of
from nidc.governance.name_tokens import ColumnName, only_refers, tokenise
from nidc.governance.rule_pack import CompiledDetector, RulePack

MAX_SAMPLE = 200  # values looked at per column; the job samples at most this many
MIN_VALUES = 3  # fewer non-empty values than this are not evidence either way
MAX_VALUE_LENGTH = 4000  # longer values are cut (a G-code program stays recognisable)
UNCLASSIFIED = "unclassified"
UNCLASSIFIED_CONFIDENCE = 0.3


@dataclass(frozen=True)
class Evidence:
    """One detector's hit: how it matched, and on how many sampled values."""

    detector: str
    policy: str
    kind: str
    category: str
    grade: int
    confidence: float
    matched: int = 0
    sampled: int = 0
    detail: str = ""


@dataclass(frozen=True)
class ColumnClassification:
    """What a column is: MIIT domain and category, grade with its GB/T 43697 level, why."""

    column: str
    domain: str | None
    category: str
    grade: int
    level: str
    confidence: float
    evidence: tuple[Evidence, ...]

    def as_dict(self) -> dict[str, object]:
        """The wire form (status, table properties, job results)."""
        return {
            "name": self.column,
            "domain": self.domain,
            "category": self.category,
            "grade": self.grade,
            "level": self.level,
            "confidence": round(self.confidence, 3),
            "detectors": [e.detector for e in self.evidence],
        }


def sample_values(values: Iterable[object], limit: int = MAX_SAMPLE) -> list[str]:
    """Up to `limit` non-empty values as stripped text."""
    sample: list[str] = []
    for value in values:
        if value is None:
            continue
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        text = text.strip()[:MAX_VALUE_LENGTH]
        if text:
            sample.append(text)
            if len(sample) >= limit:
                break
    return sample


def _content_hit(detector: CompiledDetector, sample: Sequence[str]) -> Evidence | None:
    spec = detector.spec
    if len(sample) < MIN_VALUES:
        return None
    if detector.content_regex is not None:
        regex = detector.content_regex
        matched = [v for v in sample if regex.search(v)]
    elif detector.value_check is not None:
        check = detector.value_check
        matched = [v for v in sample if check.check(v)]
        if matched and len(set(matched)) < check.min_distinct * len(matched):
            return None
    else:
        return None
    share = len(matched) / len(sample)
    if share < spec.min_share:
        return None
    return Evidence(
        detector=spec.name,
        policy=detector.policy,
        kind=str(spec.kind),
        category=spec.category,
        grade=spec.grade,
        confidence=spec.confidence * (0.8 + 0.2 * share),
        matched=len(matched),
        sampled=len(sample),
        detail=str(spec.validator or "pattern"),
    )


def _name_hit(
    detector: CompiledDetector, name: ColumnName, tags: frozenset[str], sampled: int
) -> Evidence | None:
    spec = detector.spec
    detail = None
    if detector.name_regex is not None and detector.name_regex.search(name.raw):
        detail = "name"
    elif detector.words is not None:
        detail = detector.words.match(name)
        if detail is not None and spec.skip_references and only_refers(name, detail):
            detail = None
    elif spec.kind == DetectorKind.DECLARED_TAG and spec.tag in tags:
        detail = f"tag {spec.tag}"
    if detail is None:
        return None
    return Evidence(
        detector=spec.name,
        policy=detector.policy,
        kind=str(spec.kind),
        category=spec.category,
        grade=spec.grade,
        confidence=spec.confidence,
        sampled=sampled,
        detail=detail,
    )


def combined_confidence(hits: Sequence[Evidence]) -> float:
    """Independent agreeing detectors: 1 - prod(1 - c)."""
    doubt = 1.0
    for hit in hits:
        doubt *= 1.0 - hit.confidence
    return 1.0 - doubt


def classify_column(
    pack: RulePack,
    column: str,
    values: Iterable[object] = (),
    tags: Iterable[str] = (),
    default_domain: str | None = None,
) -> ColumnClassification:
    """Classify one column; `values` is a sample (only the first MAX_SAMPLE are read)."""
    sample = sample_values(values)
    name = tokenise(column, pack.han_words)
    tag_set = frozenset(tags)
    hits: list[Evidence] = []
    for detector in pack.detectors:
        hit = (
            _content_hit(detector, sample)
            if detector.reads_values
            else _name_hit(detector, name, tag_set, len(sample))
        )
        if hit is not None:
            hits.append(hit)
    if not hits:
        return ColumnClassification(
            column, default_domain, UNCLASSIFIED, 1, level_of(1).level, UNCLASSIFIED_CONFIDENCE, ()
        )
    winner = max(hits, key=lambda h: (h.grade, h.confidence))
    agreeing = [h for h in hits if h.category == winner.category]
    category = pack.categories[winner.category]
    detector_domain = next(
        (d.spec.domain for d in pack.detectors if d.spec.name == winner.detector and d.spec.domain),
        None,
    )
    ordered = tuple(sorted(hits, key=lambda h: (-h.grade, -h.confidence, h.detector)))
    return ColumnClassification(
        column=column,
        domain=str(detector_domain or category.domain),
        category=winner.category,
        grade=winner.grade,
        level=level_of(winner.grade).level,
        confidence=combined_confidence(agreeing),
        evidence=ordered,
    )
