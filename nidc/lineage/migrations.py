"""The lineage store's schema in PostgreSQL (schema `lineage`), as numbered migrations.

Applied in order inside one transaction each, under an advisory lock, and recorded in
`lineage.migrations`, so any number of receivers starting at once apply each exactly once.
A new migration is appended; an applied one is never edited.
"""

from __future__ import annotations

SCHEMA = "lineage"
# A fixed key for pg_advisory_xact_lock: "lineage" in ASCII.
LOCK_KEY = 0x6C696E65616765

MIGRATIONS: tuple[str, ...] = (
    # 1: every event as received, the datasets, jobs and runs they name, and column edges.
    """
    CREATE TABLE lineage.events (
        id bigserial PRIMARY KEY,
        run_id uuid NOT NULL,
        event_type text NOT NULL,
        event_time timestamptz NOT NULL,
        body jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (run_id, event_type, event_time)
    );
    CREATE TABLE lineage.datasets (
        id bigserial PRIMARY KEY,
        namespace text NOT NULL,
        name text NOT NULL,
        facets jsonb NOT NULL DEFAULT '{}',
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (namespace, name)
    );
    CREATE TABLE lineage.jobs (
        id bigserial PRIMARY KEY,
        namespace text NOT NULL,
        name text NOT NULL,
        facets jsonb NOT NULL DEFAULT '{}',
        UNIQUE (namespace, name)
    );
    CREATE TABLE lineage.runs (
        run_id uuid PRIMARY KEY,
        job_id bigint NOT NULL REFERENCES lineage.jobs (id),
        state text NOT NULL,
        started_at timestamptz,
        ended_at timestamptz,
        facets jsonb NOT NULL DEFAULT '{}'
    );
    CREATE TABLE lineage.run_datasets (
        run_id uuid NOT NULL REFERENCES lineage.runs (run_id),
        dataset_id bigint NOT NULL REFERENCES lineage.datasets (id),
        role text NOT NULL CHECK (role IN ('input', 'output')),
        PRIMARY KEY (run_id, dataset_id, role)
    );
    CREATE INDEX run_datasets_by_dataset ON lineage.run_datasets (dataset_id, role);
    CREATE TABLE lineage.column_edges (
        output_dataset_id bigint NOT NULL REFERENCES lineage.datasets (id),
        output_field text NOT NULL,
        input_dataset_id bigint NOT NULL REFERENCES lineage.datasets (id),
        input_field text NOT NULL,
        kind text NOT NULL,
        subtype text NOT NULL DEFAULT '',
        run_id uuid NOT NULL REFERENCES lineage.runs (run_id),
        PRIMARY KEY (output_dataset_id, output_field, input_dataset_id, input_field, kind, subtype)
    );
    -- A dataset-level edge: a finished run read `upstream` and wrote `downstream`.
    CREATE VIEW lineage.edges AS
        SELECT DISTINCT i.dataset_id AS upstream, o.dataset_id AS downstream, r.job_id
        FROM lineage.run_datasets i
        JOIN lineage.run_datasets o ON o.run_id = i.run_id AND o.role = 'output'
        JOIN lineage.runs r ON r.run_id = i.run_id AND r.state = 'COMPLETE'
        WHERE i.role = 'input';
    """,
)
