"""Precision and recall per grade of a classifier against a labelled set (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LabelledColumn:
    """One column of an evaluation set: what it is, and whether its name or values show it."""

    name: str
    values: tuple[str, ...]
    grade: int
    category: str
    revealed: bool

    @classmethod
    def from_mapping(cls, row: Mapping[str, object]) -> LabelledColumn:
        values = row.get("values") or []
        assert isinstance(values, list)
        return cls(
            name=str(row["name"]),
            values=tuple(str(v) for v in values),
            grade=int(str(row["grade"])),
            category=str(row["category"]),
            revealed=bool(row.get("revealed", True)),
        )


@dataclass(frozen=True)
class GradeScore:
    """Precision over everything predicted at a grade; recall over revealed columns of it."""

    grade: int
    labelled: int
    predicted: int
    precision: float
    recall: float  # on columns whose name or values reveal them
    recall_all: float  # on every column of the grade, revealed or not


def score_by_grade(
    columns: Sequence[LabelledColumn], predicted: Sequence[int]
) -> dict[int, GradeScore]:
    """Per-grade precision and recall of `predicted` (one grade per column, same order)."""
    scores = {}
    for grade in (1, 2, 3):
        pairs = list(zip(columns, predicted, strict=True))
        at_grade = [p for c, p in pairs if p == grade]
        correct = [c for c, p in pairs if p == grade and c.grade == grade]
        labelled = [(c, p) for c, p in pairs if c.grade == grade]
        revealed = [(c, p) for c, p in labelled if c.revealed]
        scores[grade] = GradeScore(
            grade=grade,
            labelled=len(labelled),
            predicted=len(at_grade),
            precision=len(correct) / len(at_grade) if at_grade else 1.0,
            recall=sum(p == grade for _, p in revealed) / len(revealed) if revealed else 1.0,
            recall_all=sum(p == grade for _, p in labelled) / len(labelled) if labelled else 1.0,
        )
    return scores
