"""The kopf operators: `python -m operators` (operators/__main__.py) runs them.

- one folder per kind: tenant/, datasource/, dataproduct/, datareplication/, pipelinerun/,
  each with register.py (kopf decorators only), reconcile.py (typed model, observe, apply) and,
  where the kind decides anything, build.py (pure validate, builders, plan and status);
- runs/: what the run-owning kinds share (plan, record, owner, transitions), the run state
  machine and the runners (local processes, Kubernetes driver Jobs);
- collectors/: how the operator runs a device source's collector (local process, Deployment);
- reconciling/: the kit every reconciler uses (apply, conditions, events, status, errors,
  metrics); clients/: settings and the clients of the platform (OpenBao, S3) in one context;
  replicas/: peering and liveness; main.py: the process's kopf settings and start-up.

Layering (import-linter, pyproject.toml): operators -> nidc (api, governance, kube); kinds never
import each other; operators never import spark_jobs (nidc/api/job_specs.py is the contract).
"""
