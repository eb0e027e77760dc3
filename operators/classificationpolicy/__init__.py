"""The ClassificationPolicy operator: reviews a tenant's detectors and overrides."""
