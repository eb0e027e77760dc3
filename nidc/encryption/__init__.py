"""Grade-3 columns encrypted at rest: envelope keys from OpenBao transit (docs/encryption.md)."""
