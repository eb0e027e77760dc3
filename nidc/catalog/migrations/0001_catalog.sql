-- The asset catalog (issue 15): an index over the resources and Delta logs, rebuilt from them at
-- will (`nidc catalog rebuild`). Schema `catalog`; the lineage store has its own schema.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SCHEMA IF NOT EXISTS catalog;

CREATE TABLE catalog.assets (
    id                text PRIMARY KEY,          -- <tenant>/<layer>.<name>
    tenant            text NOT NULL,
    layer             text NOT NULL,
    name              text NOT NULL,             -- <layer>.<name>
    kind              text NOT NULL,             -- source-table, quarantine, product-table, ...
    resource          text NOT NULL,             -- Kind/namespace/name that makes it
    location          text NOT NULL,
    center            text,
    owner_name        text,
    owner_email       text,
    domain            text,
    categories        text[] NOT NULL DEFAULT '{}',
    grade             smallint,
    grade_basis       text,                      -- classified, status, declared, tenant-default
    declared_grade    smallint,
    quality_score     double precision,
    failing_checks    text[] NOT NULL DEFAULT '{}',
    version           bigint,
    last_good_version bigint,
    versions          bigint,
    last_modified     timestamptz,
    size_bytes        bigint,
    files             bigint,
    rows              bigint,
    description       text,
    history           jsonb NOT NULL DEFAULT '[]',
    shares            text[] NOT NULL DEFAULT '{}',
    grants            text[] NOT NULL DEFAULT '{}',
    search_text       text NOT NULL DEFAULT '',
    search_vector     tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED
);
CREATE INDEX assets_tenant ON catalog.assets (tenant);
CREATE INDEX assets_search ON catalog.assets USING gin (search_vector);
CREATE INDEX assets_name_trgm ON catalog.assets USING gin (name gin_trgm_ops);

CREATE TABLE catalog.columns (
    asset_id       text NOT NULL REFERENCES catalog.assets (id) ON DELETE CASCADE,
    position       integer NOT NULL,
    name           text NOT NULL,
    type           text NOT NULL,
    nullable       boolean NOT NULL,
    comment        text,
    domain         text,
    category       text,
    category_title text,
    grade          smallint,
    confidence     double precision,
    PRIMARY KEY (asset_id, position)
);
CREATE INDEX columns_name_trgm ON catalog.columns USING gin (name gin_trgm_ops);

-- A device or system a DataSource collects from: the first upstream of its tables.
CREATE TABLE catalog.sources (
    id       text PRIMARY KEY,                   -- source:<namespace>/<name>
    tenant   text NOT NULL,
    resource text NOT NULL,
    type     text NOT NULL,
    endpoint text NOT NULL
);

CREATE TABLE catalog.edges (
    upstream   text NOT NULL,                    -- an asset id or a source id
    downstream text NOT NULL,
    via        text NOT NULL,                    -- the resource that makes the flow
    PRIMARY KEY (upstream, downstream, via)
);
CREATE INDEX edges_downstream ON catalog.edges (downstream);

-- Tenants other than the owner that may see an asset: grantees and share recipients.
CREATE TABLE catalog.access (
    asset_id text NOT NULL REFERENCES catalog.assets (id) ON DELETE CASCADE,
    tenant   text NOT NULL,
    via      text NOT NULL,                      -- grant | share
    resource text NOT NULL,
    PRIMARY KEY (asset_id, tenant, resource)
);
CREATE INDEX access_tenant ON catalog.access (tenant);

-- When the index last took in the resources, and what it saw.
CREATE TABLE catalog.sweeps (
    id          bigserial PRIMARY KEY,
    finished_at timestamptz NOT NULL DEFAULT now(),
    assets      integer NOT NULL,
    unreadable  text[] NOT NULL DEFAULT '{}'
);
