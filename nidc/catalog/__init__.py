"""The asset catalog: an index of every table, kept current from the resources and Delta logs.

observe.py (I/O) -> build.py (pure) -> store.py (PostgreSQL); queries.py reads it for the CLI, the
HTTP API (api.py) and the console. docs/catalog.md and docs/decisions/0200-catalog-index.md.
"""
