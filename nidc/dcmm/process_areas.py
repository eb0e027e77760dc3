"""The 28 process areas of GB/T 36073-2018 as data (policies/dcmm/*.yaml), read and checked."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from nidc.governance.policy_files import policies_dir

DCMM_FOLDER = "dcmm"
LEVELS = {
    1: ("初始级", "Initial"),
    2: ("受管理级", "Managed"),
    3: ("稳健级", "Defined"),
    4: ("量化管理级", "Quantitatively managed"),
    5: ("优化级", "Optimizing"),
}
AREA_COUNT, PROCESS_AREA_COUNT = 8, 28


class Names(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]+$")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ProcessArea(Names):
    """One process area: per level 2-5, the least value each piece of evidence must reach."""

    levels: dict[int, dict[str, float]]

    @field_validator("levels")
    @classmethod
    def _levels_2_to_5(cls, levels: dict[int, dict[str, float]]) -> dict[int, dict[str, float]]:
        if sorted(levels) != [2, 3, 4, 5]:
            raise ValueError(f"levels must be exactly 2, 3, 4 and 5, not {sorted(levels)}")
        return levels

    @property
    def evidence(self) -> list[str]:
        """Every piece of evidence any level asks for, in first-asked order."""
        names: list[str] = []
        for level in sorted(self.levels):
            names += [n for n in self.levels[level] if n not in names]
        return names


class CapabilityArea(BaseModel):
    """One file of policies/dcmm: a capability area and its process areas."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    area: Names
    process_areas: list[ProcessArea] = Field(alias="processAreas", min_length=1)


class ModelError(ValueError):
    """policies/dcmm does not describe the standard's 8 areas and 28 process areas."""


def load_areas(
    folder: Path | None = None, known_evidence: set[str] | None = None
) -> list[CapabilityArea]:
    """Every capability area, in file-name order; checks the counts and the evidence names."""
    root = folder or policies_dir() / DCMM_FOLDER
    areas = []
    for path in sorted(root.glob("*.yaml")):
        try:
            areas.append(CapabilityArea.model_validate(yaml.safe_load(path.read_text("utf-8"))))
        except ValueError as error:
            raise ModelError(f"{path.name}: {error}") from error
    process_areas = [pa for area in areas for pa in area.process_areas]
    if len(areas) != AREA_COUNT or len(process_areas) != PROCESS_AREA_COUNT:
        raise ModelError(
            f"{root}: {len(areas)} capability areas and {len(process_areas)} process areas; "
            f"GB/T 36073-2018 has {AREA_COUNT} and {PROCESS_AREA_COUNT}"
        )
    ids = [pa.id for pa in process_areas]
    if len(set(ids)) != len(ids):
        raise ModelError(f"process area ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    if known_evidence is not None:
        for pa in process_areas:
            unknown = sorted(set(pa.evidence) - known_evidence)
            if unknown:
                raise ModelError(f"{pa.id}: unknown evidence {unknown}")
    return areas
