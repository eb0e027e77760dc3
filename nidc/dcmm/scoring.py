"""A process area's maturity level from the evidence, with what would raise it (pure).

Level 1 needs nothing; a process area is at level N when every requirement of levels 2..N
holds. A requirement on missing evidence does not hold, and says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from nidc.dcmm.evidence import Evidence
from nidc.dcmm.process_areas import LEVELS, CapabilityArea, ProcessArea


@dataclass(frozen=True)
class Shortfall:
    """One requirement of the next level that does not hold."""

    evidence: str
    needed: float
    have: float | None
    missing: str | None

    def describe(self) -> str:
        if self.missing:
            return f"{self.evidence} ≥ {self.needed:g}: missing ({self.missing})"
        return f"{self.evidence} ≥ {self.needed:g} (now {self.have:.3g})"


@dataclass(frozen=True)
class Score:
    """The level of one process area, its evidence and what the next level needs."""

    area: CapabilityArea
    process_area: ProcessArea
    level: int
    evidence: list[Evidence]
    to_raise: list[Shortfall]

    @property
    def level_names(self) -> tuple[str, str]:
        return LEVELS[self.level]


def shortfalls(requirements: dict[str, float], evidence: dict[str, Evidence]) -> list[Shortfall]:
    """The requirements that do not hold."""
    unmet = []
    for name, needed in requirements.items():
        found = evidence.get(name)
        if found is None or not found.available:
            why = found.missing if found else "no collector measures it"
            unmet.append(Shortfall(name, needed, None, why))
        elif found.value is not None and found.value < needed:
            unmet.append(Shortfall(name, needed, found.value, None))
    return unmet


def score_process_area(
    area: CapabilityArea, process_area: ProcessArea, evidence: dict[str, Evidence]
) -> Score:
    level, to_raise = 1, []
    for candidate in sorted(process_area.levels):
        unmet = shortfalls(process_area.levels[candidate], evidence)
        if unmet:
            to_raise = unmet
            break
        level = candidate
    used = [evidence[n] for n in process_area.evidence if n in evidence]
    return Score(area, process_area, level, used, to_raise)


def score_all(areas: list[CapabilityArea], evidence: dict[str, Evidence]) -> list[Score]:
    """Every process area's score, in the standard's order."""
    return [score_process_area(a, pa, evidence) for a in areas for pa in a.process_areas]
