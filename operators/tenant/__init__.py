"""The Tenant operator: namespace, roles, quotas, network isolation, bucket and OpenBao access."""
