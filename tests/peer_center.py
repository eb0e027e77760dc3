"""The peer center of replication tests: nidc/local/peer_center.py (moved there so that
`nidc demo` runs the same one)."""

from __future__ import annotations

from nidc.local.peer_center import PEER_BUCKETS, PeerObjectStore, publish_peer

__all__ = ["PEER_BUCKETS", "PeerObjectStore", "publish_peer"]
