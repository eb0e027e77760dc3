"""Typed models of every custom resource, one file per kind (crds/ is generated from them), the
typed object reconcilers parse a body into (resource.py), the job specs runs record and jobs
parse (job_specs.py), and where a tenant's things are (addressing.py)."""
