"""The operator's clients of the platform: its settings (from the environment), OpenBao and S3
administration, and the context that holds them for every reconciler."""
