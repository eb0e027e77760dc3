"""Grades 1/2/3 and their names in the MIIT guide and GB/T 43697-2024 (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from nidc.api.schema import Grade


@dataclass(frozen=True)
class GradeLevel:
    """A grade with the names the two standards give it."""

    grade: Grade
    miit: str  # 工业数据分类分级指南: 一级/二级/三级
    level: str  # GB/T 43697-2024: 一般/重要/核心
    english: str


LEVELS = {
    Grade.GENERAL: GradeLevel(Grade.GENERAL, "一级", "一般", "general"),
    Grade.IMPORTANT: GradeLevel(Grade.IMPORTANT, "二级", "重要", "important"),
    Grade.CORE: GradeLevel(Grade.CORE, "三级", "核心", "core"),
}


def level_of(grade: int) -> GradeLevel:
    """The names of grade 1, 2 or 3; raises ValueError for anything else."""
    return LEVELS[Grade(grade)]
