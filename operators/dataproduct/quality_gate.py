"""The quality gate of a DataProduct (issue 20), pure: when a quality run is due, whether a
checked version passes (live waivers counted), the last good version downstream reads, which
quality runs to prune, and the events a change of the gate posts.

A quality run checks the version one transform run wrote and is recorded under that run's
(generation, sequence) with the role `q` (operators/runs/naming.py), so it is create-or-adopt
by name like every run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nidc.api.data_product import DataProduct, Waiver
from operators.runs.plan import RunHistory
from operators.runs.record import RecordedRun

QUALITY_ROLE = "q"
QUALITY_JOB = "quality"


def expires_at(waiver: Waiver) -> dt.datetime:
    """The waiver's expiry as an aware datetime (RFC 3339; naive means UTC)."""
    moment = dt.datetime.fromisoformat(waiver.expires_at)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def live_waivers(product: DataProduct, now: dt.datetime) -> list[Waiver]:
    """Waivers that have not expired at `now`."""
    return [w for w in product.spec.waivers if expires_at(w) > now]


def next_expiry(product: DataProduct, now: dt.datetime) -> dt.datetime | None:
    """When the next live waiver expires: the product is due then, so the gate closes again."""
    expiries = [expires_at(w) for w in live_waivers(product, now)]
    return min(expiries) if expiries else None


@dataclass(frozen=True)
class Gate:
    """The gate's decision on one checked version."""

    version: int | None
    blocking: list[str]  # failing blocking rules no live waiver covers
    waived: list[str]  # failing blocking rules a live waiver lets through

    @property
    def passed(self) -> bool:
        return not self.blocking


def decide(quality: dict[str, Any], waived_rules: set[str]) -> Gate:
    """Gate decision from a quality run's summary (`status.quality`) and the waived rules."""
    failures = list(quality.get("blockingFailures") or [])
    return Gate(
        version=quality.get("checkedVersion"),
        blocking=[r for r in failures if r not in waived_rules],
        waived=[r for r in failures if r in waived_rules],
    )


def waived_rule_names(product: DataProduct, now: dt.datetime) -> set[str]:
    return {rule for w in live_waivers(product, now) for rule in w.rules}


def split_runs(history: RunHistory) -> tuple[RunHistory, list[RecordedRun]]:
    """(the transform runs' history, the quality runs in key order) of one product."""
    transform = [r for r in history.ordered if r.job_type != QUALITY_JOB]
    quality = [r for r in history.ordered if r.job_type == QUALITY_JOB]
    return RunHistory(transform, history.generation), quality


def quality_run_for(run: RecordedRun, quality_runs: list[RecordedRun]) -> RecordedRun | None:
    """The quality run checking the version `run` wrote, if recorded."""
    return next((q for q in quality_runs if q.key == run.key), None)


def quality_run_due(
    product: DataProduct, transforms: RunHistory, quality_runs: list[RecordedRun]
) -> tuple[int, int] | None:
    """The key of the quality run to record: the newest succeeded transform run, when the
    product has rules and that version has no quality run yet."""
    if not product.spec.quality_rules:
        return None
    good = transforms.last_succeeded
    if good is None or good.result("tableVersion") is None:
        return None
    if quality_run_for(good, quality_runs) is not None:
        return None
    return good.key


def checked_version(run: RecordedRun) -> int | None:
    version = run.job.get("version")
    return int(version) if version is not None else None


def last_good_version(
    product: DataProduct,
    transforms: RunHistory,
    quality_runs: list[RecordedRun],
    now: dt.datetime,
) -> int | None:
    """The newest version downstream may read: without rules every version the product wrote;
    with rules the newest checked version whose gate passes now (an expired waiver no longer
    counts, so the version it let through is held back again)."""
    if not product.spec.quality_rules:
        good = transforms.last_succeeded
        return good.result("tableVersion") if good is not None else None
    waived = waived_rule_names(product, now)
    passing = [
        version
        for run in quality_runs
        if run.succeeded
        and (version := checked_version(run)) is not None
        and decide(run.result("quality") or {}, waived).passed
    ]
    return max(passing) if passing else None


def quality_runs_to_prune(quality_runs: list[RecordedRun], history_limit: int) -> list[str]:
    """Finished quality runs beyond the history limit; the newest one that passed with no
    waiver is always kept (the version the gate falls back to when a waiver expires)."""
    finished = [r for r in quality_runs if r.terminal]
    keep = {r.name for r in finished[-history_limit:]}
    clean = [r for r in finished if r.succeeded and decide(r.result("quality") or {}, set()).passed]
    if clean:
        keep.add(clean[-1].name)
    return [r.name for r in finished if r.name not in keep]


def gate_message(product: DataProduct, gate: Gate, last_good: int | None) -> str:
    """Why the gate holds a version back: the rules and the accountable owner."""
    owner = product.spec.owner
    serving = (
        f"; downstream reads version {last_good}"
        if last_good is not None
        else "; no version has passed yet"
    )
    return (
        f"table version {gate.version} failed blocking quality rules "
        f"{', '.join(gate.blocking)} (owner {owner.name} <{owner.email}>){serving}"
    )


@dataclass(frozen=True)
class QualityEvent:
    reason: str
    message: str
    warning: bool


def quality_events(
    product: DataProduct, previous: dict[str, Any], status: dict[str, Any], now: dt.datetime
) -> list[QualityEvent]:
    """The events of a change between two statuses: a new quality result, rules a waiver now
    lets through, rules whose waiver ended, a new last good version."""
    events: list[QualityEvent] = []
    quality = status.get("quality")
    if quality and quality != previous.get("quality"):
        failing = quality.get("failingChecks") or []
        events.append(
            QualityEvent(
                "QualityChecked",
                f"table version {quality.get('checkedVersion')}: score {quality.get('score')}, "
                + (f"failing {', '.join(failing)}" if failing else "all checks passed"),
                warning=bool(failing),
            )
        )
    before, after = set(previous.get("waivedRules") or []), set(status.get("waivedRules") or [])
    for waiver in live_waivers(product, now):
        applied = sorted(after.intersection(waiver.rules) - before)
        if applied:
            events.append(
                QualityEvent(
                    "QualityWaiverApplied",
                    f"rules {', '.join(applied)} let through until {waiver.expires_at}, approved "
                    f"by {waiver.approver.name} <{waiver.approver.email}>: {waiver.reason}",
                    warning=True,
                )
            )
    ended = sorted(before - after)
    if ended:
        events.append(
            QualityEvent(
                "QualityWaiverEnded",
                f"rules {', '.join(ended)} are no longer waived",
                warning=True,
            )
        )
    version, earlier = status.get("lastGoodVersion"), previous.get("lastGoodVersion")
    if version != earlier:
        events.append(
            QualityEvent(
                "LastGoodVersionChanged",
                f"downstream now reads table version {version} (was {earlier})",
                # Going back (a waiver ended) is worth a look; moving forward is routine.
                warning=version is None or (earlier is not None and version < earlier),
            )
        )
    return events
