"""What the console shows of a table's values (pure). Grade-3 (core) columns are never shown
in clear here, to anyone: they are encrypted at rest and read only through grants. Grade-2
columns are hidden from analysts, who work with governed copies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nidc.catalog.access import Identity
from nidc.local.identities import PLATFORM_ADMINS_GROUP

HIDDEN = "■■■"
SAMPLE_ROWS = 5


def is_analyst(identity: Identity) -> bool:
    """An analyst of some tenant, and neither its admin, engineer nor a center operator."""
    if PLATFORM_ADMINS_GROUP in identity.groups:
        return False
    roles = {g.rsplit(":", 1)[-1] for g in identity.groups if g.startswith("nidc:tenant:")}
    return "analysts" in roles and not roles & {"admins", "engineers"}


def hidden(grade: int | None, analyst: bool) -> bool:
    return grade == 3 or (analyst and grade == 2)


def shown_value(value: Any, grade: int | None, analyst: bool) -> str:
    if hidden(grade, analyst):
        return f"{HIDDEN} grade {grade}"
    if value is None:
        return "null"
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def sample(
    grades: Mapping[str, int | None], rows: Sequence[Mapping[str, Any]], analyst: bool
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The header and rows shown, values of hidden columns replaced."""
    header = tuple(grades)
    shown = tuple(
        tuple(shown_value(row.get(name), grades[name], analyst) for name in header)
        for row in rows[:SAMPLE_ROWS]
    )
    return header, shown
