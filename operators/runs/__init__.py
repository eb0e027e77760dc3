"""Pipeline runs: what the run-owning kinds share (plan.py, record.py, owner.py, transitions.py),
deterministic names, the run state machine, and the runners that execute jobs (local processes,
Kubernetes driver Jobs)."""
