"""The DataReplication operator: copies a tenant table to a peer center, as its grade allows."""
