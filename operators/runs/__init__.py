"""Pipeline runs: naming, the run state machine, and the runners that execute jobs."""
