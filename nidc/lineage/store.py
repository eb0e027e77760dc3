"""The lineage store: run events in PostgreSQL (schema `lineage`), and the queries over them.

`record` takes one validated event (validation.py) and, in one transaction, keeps it as
received (once: the same run, type and time is the same event), upserts its job, run, datasets
and their facets, links the run to what it read and wrote, and on COMPLETE replaces the output's
column edges with those of its columnLineage facet. Only completed runs make edges (a failed
run wrote nothing: its table keeps its last good version). A connection per call, so the
store serves the receiver's threads and the command line alike; the DSN is never logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from nidc.lineage.migrations import LOCK_KEY, MIGRATIONS
from nidc.lineage.naming import DatasetName
from nidc.lineage.validation import ValidEvent

_EDGES = (
    "SELECT u.namespace, u.name, d.namespace, d.name, j.namespace || ':' || j.name "
    "FROM lineage.edges e "
    "JOIN lineage.datasets u ON u.id = e.upstream "
    "JOIN lineage.datasets d ON d.id = e.downstream "
    "JOIN lineage.jobs j ON j.id = e.job_id "
    "JOIN lineage.datasets n ON n.id = e.{near} "
    "WHERE (n.namespace, n.name) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
    "AND e.upstream <> e.downstream ORDER BY 1, 2, 3, 4, 5"
)
# One step upstream of a set of datasets: the edges that end at them; downstream: that start.
EDGES_UPSTREAM = _EDGES.replace("{near}", "downstream")
EDGES_DOWNSTREAM = _EDGES.replace("{near}", "upstream")
STATE_ORDER = {"START": 0, "RUNNING": 1, "COMPLETE": 2, "FAIL": 2, "ABORT": 2, "OTHER": 0}


@dataclass(frozen=True)
class Edge:
    """A dataset-level edge: `job` read `upstream` and wrote `downstream`."""

    upstream: DatasetName
    downstream: DatasetName
    job: str


@dataclass(frozen=True)
class ColumnEdge:
    """An output column computed from (DIRECT) or shaped by (INDIRECT) an input column."""

    output_field: str  # '' for a dataset-level (INDIRECT) input
    input: DatasetName
    input_field: str
    kind: str
    subtype: str


class LineageStore:
    """Events and the lineage graph in one PostgreSQL database."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn

    def __repr__(self) -> str:  # never the DSN: it may hold a password
        return "LineageStore(<dsn>)"

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._dsn, connect_timeout=10)

    def migrate(self) -> int:
        """Apply the migrations not applied yet; returns the schema's version."""
        with self.connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            conn.execute("CREATE SCHEMA IF NOT EXISTS lineage")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS lineage.migrations "
                "(version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            row = conn.execute(
                "SELECT coalesce(max(version), 0) FROM lineage.migrations"
            ).fetchone()
            applied = int(row[0]) if row else 0
            for version, sql in enumerate(MIGRATIONS, start=1):
                if version > applied:
                    conn.execute(sql)
                    conn.execute("INSERT INTO lineage.migrations (version) VALUES (%s)", (version,))
            return len(MIGRATIONS)

    def record(self, event: ValidEvent) -> bool:
        """Store one event; False when the same event was stored before (nothing changes)."""
        with self.connect() as conn, conn.transaction():
            inserted = conn.execute(
                "INSERT INTO lineage.events (run_id, event_type, event_time, body) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
                (event.run_id, event.event_type, event.event_time, Jsonb(event.body)),
            ).fetchone()
            if inserted is None:
                return False
            job_id = _one(
                conn,
                "INSERT INTO lineage.jobs (namespace, name, facets) VALUES (%s, %s, %s) "
                "ON CONFLICT (namespace, name) DO UPDATE SET facets = "
                "lineage.jobs.facets || EXCLUDED.facets RETURNING id",
                (event.job.namespace, event.job.name, Jsonb(event.job_facets)),
            )
            self._record_run(conn, event, job_id)
            ids = {}
            for role, datasets in (("input", event.inputs), ("output", event.outputs)):
                for dataset in datasets:
                    ids[dataset.name] = self._upsert_dataset(conn, dataset.name, dataset.facets)
                    conn.execute(
                        "INSERT INTO lineage.run_datasets VALUES (%s, %s, %s) "
                        "ON CONFLICT DO NOTHING",
                        (event.run_id, ids[dataset.name], role),
                    )
            if event.event_type == "COMPLETE":
                for dataset in event.outputs:
                    self._replace_column_edges(conn, event, ids, dataset.name, dataset.facets)
            return True

    def _record_run(self, conn: psycopg.Connection[Any], event: ValidEvent, job_id: int) -> None:
        # A late START never moves a finished run back; times are kept per kind of event.
        started = event.event_time if event.event_type == "START" else None
        ended = event.event_time if STATE_ORDER.get(event.event_type) == 2 else None
        conn.execute(
            "INSERT INTO lineage.runs (run_id, job_id, state, started_at, ended_at, facets) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id) DO UPDATE SET "
            "state = CASE WHEN lineage.runs.ended_at IS NULL OR EXCLUDED.ended_at IS NOT NULL "
            "THEN EXCLUDED.state ELSE lineage.runs.state END, "
            "started_at = coalesce(lineage.runs.started_at, EXCLUDED.started_at), "
            "ended_at = coalesce(EXCLUDED.ended_at, lineage.runs.ended_at), "
            "facets = lineage.runs.facets || EXCLUDED.facets",
            (
                event.run_id,
                job_id,
                event.event_type,
                started,
                ended,
                Jsonb(event.run_facets),
            ),
        )

    def _upsert_dataset(
        self, conn: psycopg.Connection[Any], name: DatasetName, facets: Mapping[str, Any]
    ) -> int:
        return _one(
            conn,
            "INSERT INTO lineage.datasets (namespace, name, facets) VALUES (%s, %s, %s) "
            "ON CONFLICT (namespace, name) DO UPDATE SET facets = "
            "lineage.datasets.facets || EXCLUDED.facets, updated_at = now() RETURNING id",
            (name.namespace, name.name, Jsonb(dict(facets))),
        )

    def _replace_column_edges(
        self,
        conn: psycopg.Connection[Any],
        event: ValidEvent,
        ids: dict[DatasetName, int],
        output: DatasetName,
        facets: Mapping[str, Any],
    ) -> None:
        facet = facets.get("columnLineage")
        if not isinstance(facet, dict):
            return
        # The latest completed run's SQL is the table's: its edges replace the earlier ones.
        conn.execute(
            "DELETE FROM lineage.column_edges WHERE output_dataset_id = %s", (ids[output],)
        )
        for field, source in _column_inputs(facet):
            source_name = DatasetName(source["namespace"], source["name"])
            source_id = ids.get(source_name) or self._upsert_dataset(conn, source_name, {})
            for transformation in source.get("transformations") or [{"type": "DIRECT"}]:
                conn.execute(
                    "INSERT INTO lineage.column_edges VALUES (%s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT DO NOTHING",
                    (
                        ids[output],
                        field,
                        source_id,
                        source["field"],
                        transformation.get("type", "DIRECT"),
                        transformation.get("subtype") or "",
                        event.run_id,
                    ),
                )

    # --- queries -----------------------------------------------------------------------

    def edges(self, datasets: Iterable[DatasetName], direction: str) -> list[Edge]:
        """The edges one step upstream ('upstream') or downstream of the datasets."""
        names = sorted(set(datasets))
        if not names:
            return []
        with self.connect() as conn:
            rows = conn.execute(
                EDGES_UPSTREAM if direction == "upstream" else EDGES_DOWNSTREAM,
                ([n.namespace for n in names], [n.name for n in names]),
            ).fetchall()
        return [Edge(DatasetName(r[0], r[1]), DatasetName(r[2], r[3]), r[4]) for r in rows]

    def column_lineage(self, dataset: DatasetName) -> list[ColumnEdge]:
        """The table's column edges (from its latest completed run with column lineage)."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT c.output_field, i.namespace, i.name, c.input_field, c.kind, c.subtype "
                "FROM lineage.column_edges c "
                "JOIN lineage.datasets o ON o.id = c.output_dataset_id "
                "JOIN lineage.datasets i ON i.id = c.input_dataset_id "
                "WHERE o.namespace = %s AND o.name = %s ORDER BY 1, 2, 3, 4, 5, 6",
                (dataset.namespace, dataset.name),
            ).fetchall()
        return [ColumnEdge(r[0], DatasetName(r[1], r[2]), r[3], r[4], r[5]) for r in rows]

    def dataset_facets(self, dataset: DatasetName) -> dict[str, Any] | None:
        """The dataset's latest facets, or None when no event named it."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT facets FROM lineage.datasets WHERE namespace = %s AND name = %s",
                (dataset.namespace, dataset.name),
            ).fetchone()
        return None if row is None else dict(row[0])

    def sources(self, datasets: Iterable[DatasetName]) -> dict[DatasetName, dict[str, str]]:
        """The `nidc_source` facet (the DataSource a dataset holds the data of) of each dataset
        that has one, in one query."""
        names = list(datasets)
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT namespace, name, facets -> 'nidc_source' FROM lineage.datasets "
                "WHERE (namespace, name) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
                "AND facets ? 'nidc_source'",
                ([n.namespace for n in names], [n.name for n in names]),
            ).fetchall()
        return {
            DatasetName(r[0], r[1]): {
                k: str(r[2].get(k, "")) for k in ("namespace", "name", "type")
            }
            for r in rows
            if isinstance(r[2], dict)
        }

    def event_count(self) -> int:
        with self.connect() as conn:
            row = conn.execute("SELECT count(*) FROM lineage.events").fetchone()
        return int(row[0]) if row else 0

    def raw_events(self) -> list[dict[str, Any]]:
        """Every stored event body, oldest first (audits and tests)."""
        with self.connect() as conn:
            rows = conn.execute("SELECT body FROM lineage.events ORDER BY id").fetchall()
        return [dict(r[0]) for r in rows]


def _column_inputs(facet: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for field, spec in sorted((facet.get("fields") or {}).items()):
        for source in spec.get("inputFields") or []:
            yield field, source
    for source in facet.get("dataset") or []:
        yield "", source


def _one(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> int:
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise RuntimeError("no row returned")
    return int(row[0])
