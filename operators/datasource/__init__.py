"""The DataSource operator: runs a device source's collector and records its ingest runs; reports
the checkpoint, rows, quarantined rows and table version."""
