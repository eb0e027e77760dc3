"""Column-level lineage of a SQL transform, as OpenLineage's columnLineage facet (sqlglot).

Each output column's direct inputs come from sqlglot's lineage module over the query qualified
against the input views' columns (so `SELECT *` and unqualified names resolve); its
transformation is IDENTITY when every step is a bare column, AGGREGATION when a step aggregates,
TRANSFORMATION otherwise. Columns that shape the rows without being selected (WHERE, JOIN ON,
GROUP BY, ORDER BY, HAVING) are the facet's dataset-level INDIRECT inputs, resolved through CTEs
and subqueries to the base views. Pure; a query sqlglot cannot read gives no facet, never an
error (lineage must not fail a job).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import sqlglot
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

from nidc.lineage.naming import DatasetName

LOG = logging.getLogger(__name__)
DIALECT = "spark"
# Clauses whose columns decide which rows (or groups) there are: (arg name, OpenLineage subtype).
INDIRECT_CLAUSES = (
    ("where", "FILTER"),
    ("joins", "JOIN"),
    ("group", "GROUP_BY"),
    ("having", "FILTER"),
    ("order", "SORT"),
)
SourceColumn = tuple[str, str]  # (view, column)


def column_lineage_facet(
    sql: str,
    views: Mapping[str, DatasetName],
    view_columns: Mapping[str, Sequence[str]],
    output_columns: Sequence[str],
) -> cl.ColumnLineageDatasetFacet | None:
    """The columnLineage facet of `sql` over `views` (view -> dataset, view -> its columns),
    for the written table's `output_columns`; None when the query cannot be analysed."""
    # Lineage needs names, not types; Spark's nested types do not all parse in sqlglot.
    schema: dict[str, object] = {
        view: {c: "string" for c in columns} for view, columns in view_columns.items()
    }
    try:
        query = qualify(
            sqlglot.parse_one(sql, dialect=DIALECT),
            schema=schema,
            dialect=DIALECT,
            validate_qualify_columns=False,
        )
        direct = {
            _alias(select): _direct(select, query, schema)
            for select in query.selects  # type: ignore[attr-defined]
        }
        indirect = _indirect(query)
    except (SqlglotError, ValueError, KeyError, AttributeError) as error:
        LOG.warning("no column lineage: sqlglot could not analyse the query (%s)", error)
        return None
    by_lower = {c.lower(): c for c in output_columns}
    fields: dict[str, cl.Fields] = {}
    for name, (sources, subtype) in direct.items():
        output = by_lower.get(name.lower())
        known = [s for s in sorted(sources) if s[0] in views]
        if output is None or not known:
            continue
        fields[output] = cl.Fields(inputFields=[_field(views, s, "DIRECT", subtype) for s in known])
    dataset = [
        _field(views, source, "INDIRECT", subtype)
        for source, subtype in sorted(indirect)
        if source[0] in views
    ]
    return cl.ColumnLineageDatasetFacet(fields=fields, dataset=dataset)


def _field(
    views: Mapping[str, DatasetName], source: SourceColumn, kind: str, subtype: str
) -> cl.InputField:
    dataset = views[source[0]]
    return cl.InputField(
        namespace=dataset.namespace,
        name=dataset.name,
        field=source[1],
        transformations=[cl.Transformation(type=kind, subtype=subtype)],
    )


def _alias(select: exp.Expr) -> str:
    return select.alias_or_name


def _direct(
    select: exp.Expr, query: exp.Expr, schema: dict[str, object]
) -> tuple[set[SourceColumn], str]:
    """The base columns one output column is computed from, and how."""
    root = lineage(_alias(select), query, schema=dict(schema), dialect=DIALECT)
    sources: set[SourceColumn] = set()
    aggregated = transformed = False
    for node in root.walk():
        expression = _unaliased(node.expression)
        if expression.find(exp.AggFunc) is not None:
            aggregated = True
        elif not isinstance(expression, (exp.Column, exp.Table)):
            transformed = True
        if not node.downstream and isinstance(node.source, exp.Table):
            sources.add((node.source.name.lower(), _column_name(node)))
    subtype = "AGGREGATION" if aggregated else "TRANSFORMATION" if transformed else "IDENTITY"
    return sources, subtype


def _unaliased(expression: exp.Expr) -> exp.Expr:
    return expression.this if isinstance(expression, exp.Alias) else expression


def _column_name(node: Node) -> str:
    if isinstance(node.expression, exp.Column):
        return node.expression.name
    return node.name.rsplit(".", 1)[-1].strip('"`')


def _indirect(query: exp.Expr) -> set[tuple[SourceColumn, str]]:
    """Columns of every scope's row-shaping clauses, resolved to base views."""
    found: set[tuple[SourceColumn, str]] = set()
    root = build_scope(query)
    if root is None:
        return found
    for scope in root.traverse():
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        for arg, subtype in INDIRECT_CLAUSES:
            clause = select.args.get(arg)
            for part in clause if isinstance(clause, list) else [clause]:
                if part is None:
                    continue
                for column in _columns(part):
                    for source in _resolve(scope, column.table, column.name):
                        found.add((source, subtype))
    return found


def _columns(node: exp.Expr) -> Iterable[exp.Column]:
    # A JOIN's own table is not a column reference; its ON condition is.
    target = node.args.get("on") if isinstance(node, exp.Join) else node
    return [] if target is None else list(target.find_all(exp.Column))


def _resolve(scope: Scope, table: str, column: str) -> set[SourceColumn]:
    """(table alias, column) in a scope -> the base (view, column)s it reads."""
    source = scope.sources.get(table)
    if isinstance(source, exp.Table):
        return {(source.name.lower(), column)}
    if not isinstance(source, Scope):
        return set()
    resolved: set[SourceColumn] = set()
    selects = source.expression.selects if isinstance(source.expression, exp.Query) else []
    for projection in selects:
        if projection.alias_or_name.lower() != column.lower():
            continue
        for inner in projection.find_all(exp.Column):
            resolved |= _resolve(source, inner.table, inner.name)
    return resolved
