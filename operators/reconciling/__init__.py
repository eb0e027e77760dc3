"""The kit every reconciler is built from: apply (server-side, owned, one field manager),
conditions (Ready/Progressing/Degraded from an Outcome or typed Problems), events, status
writes that skip unchanged fields, quiet retries on outages, and reconcile metrics."""
