-- What a table's quality score is (issue 15: every table has a quality figure): `rules` is its
-- last quality run's score; `ingest` is the share of the rows its ingest job accepted (bronze
-- tables without quality rules; the rest went to quarantine with a reason).
ALTER TABLE catalog.assets ADD COLUMN IF NOT EXISTS quality_basis text;
