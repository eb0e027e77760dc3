"""The jobs runs execute (`python -m spark_jobs.run <run-dir>`): ingest (a package, one module
per input), transform and replicate. Each parses its spec with nidc/api/job_specs.py, writes
Delta (replicate copies it byte for byte) and emits spans into the run's trace."""
