"""The DataGrant operator: a governed copy per grant and short-lived credentials to read it."""
