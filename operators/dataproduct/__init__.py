"""The DataProduct operator: plans, records and prunes its transform runs; reports the last good
table version, rows, lineage and why a run failed."""
