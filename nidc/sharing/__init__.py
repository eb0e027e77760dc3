"""Our Delta Sharing server (issue 15): serves the tables a DataShare's status lists, to the
recipient whose bearer token's hash has a record in OpenBao (docs/sharing.md)."""
