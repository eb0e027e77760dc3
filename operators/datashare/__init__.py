"""The DataShare reconciler: per-recipient Delta Sharing tokens and what each is served."""
