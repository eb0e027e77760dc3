"""Lineage: OpenLineage run events from every job, their receiver and store, and the graph.

events.py builds a job's events from its typed spec (pure), column_lineage.py the columnLineage
facet of a SQL transform (sqlglot), emitter.py sends them with openlineage-python's HTTP transport
(never failing the job), receiver.py takes them in (aiohttp, the transport's shape), store.py
keeps them in PostgreSQL (schema `lineage`, migrations.py), graph.py walks upstream and
downstream, tree.py prints it (`nidc lineage`, cli.py). docs/lineage.md.
"""
