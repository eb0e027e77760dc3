"""Operator replicas: which one works (kopf peering, newest wins) and whether it is alive
(a heartbeat Lease seen through the watch)."""
