"""The ExportApproval reconciler: valid or expired, and who uses it."""
