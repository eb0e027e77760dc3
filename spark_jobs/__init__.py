"""PySpark + Delta jobs: one file per job; each reads a job spec, writes Delta, emits spans."""
