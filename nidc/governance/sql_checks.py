"""Checks of the Spark SQL a grant carries (a row filter, a CUSTOM mask) without starting Spark.

The operator parses the text with sqlglot's Spark dialect (docs/decisions/0150-masking.md says
why a parser and why this one) and walks the tree: one expression, no statement, no subquery,
no aggregate or window, no function whose value changes from one run to the next, and only the
columns it may see. Each check returns None when the text is fine, else one sentence naming the
problem, which the grant's condition carries as its message.

sqlglot is not Spark: it may accept text Spark later refuses (the job then fails and the last
good copy stays) and refuses only what it cannot parse, is not boolean, or is unsafe by the
rules above.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

DIALECT = "spark"
# Stands in for {col} while a CUSTOM mask is parsed; no product column may have this name.
CUSTOM_PLACEHOLDER = "__nidc_masked_column__"

# Functions whose value differs between runs or rows of the same input: a governed copy must be
# reproducible from its source version (a retried run writes the same rows).
NON_DETERMINISTIC = frozenset(
    {
        "rand",
        "randn",
        "random",
        "uniform",
        "randstr",
        "uuid",
        "shuffle",
        "monotonically_increasing_id",
        "spark_partition_id",
        "input_file_name",
        "input_file_block_start",
        "input_file_block_length",
        "current_timestamp",
        "current_date",
        "current_time",
        "now",
        "localtimestamp",
        "unix_timestamp",
        "current_timezone",
        "current_user",
        "user",
        "session_user",
        "try_reflect",
        "reflect",
        "java_method",
    }
)
# sqlglot classes of those functions (it names some of them its own way).
NON_DETERMINISTIC_NODES: tuple[type[exp.Expr], ...] = (
    exp.Rand,
    exp.Randn,
    exp.Uuid,
    exp.CurrentTimestamp,
    exp.CurrentDate,
    exp.CurrentTime,
    exp.CurrentUser,
)
# What may stand at the top of a row filter: comparisons, connectives, IN/LIKE/BETWEEN/IS...
BOOLEAN_NODES: tuple[type[exp.Expr], ...] = (
    exp.Predicate,
    exp.Connector,
    exp.Not,
    exp.Boolean,
    exp.Xor,
)
# Functions that return a boolean but are not predicates in sqlglot's tree.
BOOLEAN_FUNCTIONS = frozenset(
    {
        "isnull",
        "isnotnull",
        "isnan",
        "startswith",
        "endswith",
        "contains",
        "array_contains",
        "arrays_overlap",
        "rlike",
        "regexp",
        "regexp_like",
        "like",
        "ilike",
        "exists",
        "forall",
        "equal_null",
        "map_contains_key",
    }
)


def function_name(node: exp.Expr) -> str:
    """The SQL name of a function node, lower case ('' for a non-function)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return ""


def bare(name: str) -> str:
    """A function name without underscores: sqlglot calls startswith STARTS_WITH."""
    return name.replace("_", "")


NON_DETERMINISTIC_NAMES = frozenset(bare(n) for n in NON_DETERMINISTIC)
BOOLEAN_NAMES = frozenset(bare(n) for n in BOOLEAN_FUNCTIONS)


def parse_expression(text: str) -> exp.Expr | str:
    """The one expression in `text`, or the reason it is not one."""
    if not text.strip():
        return "is empty"
    try:
        parsed = sqlglot.parse(text, dialect=DIALECT)
    except SqlglotError as error:
        return f"is not parseable Spark SQL: {str(error).splitlines()[0]}"
    found = [p for p in parsed if p is not None]
    if len(found) != 1:
        return "must be one expression, not several statements"
    tree = found[0]
    if isinstance(tree, exp.Query | exp.DDL | exp.DML | exp.Command | exp.Alias):
        return "must be an expression, not a statement or an alias"
    # sqlglot forgives a dangling comma or parenthesis ("substring(x, "); Spark does not.
    round_trip = parse_tokens(text)
    if round_trip is not None:
        return f"is not parseable Spark SQL: {round_trip}"
    return tree


def parse_tokens(text: str) -> str | None:
    """What sqlglot's parser forgives but Spark refuses: unbalanced parentheses, a comma before
    a closing parenthesis or at the end."""
    tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(text)
    depth = 0
    previous = None
    for token in tokens:
        kind = token.token_type.name
        if kind == "L_PAREN":
            depth += 1
        elif kind == "R_PAREN":
            if previous == "COMMA":
                return "a comma before ')'"
            depth -= 1
            if depth < 0:
                return "a ')' without its '('"
        previous = kind
    if depth:
        return "a '(' without its ')'"
    if previous == "COMMA":
        return "a trailing comma"
    return None


def unsafe_part(tree: exp.Expr) -> str | None:
    """Why a parsed expression may not run in a governed copy, if it may not."""
    for node in tree.walk():
        if isinstance(node, exp.Subquery | exp.Query):
            return "uses a subquery (only the row's own columns may be read)"
        if isinstance(node, exp.Star):
            return "uses *"
        if isinstance(node, exp.Window):
            return "uses a window function"
        if isinstance(node, exp.AggFunc):
            return f"uses the aggregate function {function_name(node)}"
        if isinstance(node, exp.Placeholder | exp.Parameter):
            return "uses a parameter"
        name = function_name(node)
        clock = isinstance(node, exp.StrToUnix) and node.this is None  # unix_timestamp()
        if (
            clock
            or isinstance(node, NON_DETERMINISTIC_NODES)
            or bare(name) in NON_DETERMINISTIC_NAMES
        ):
            return (
                f"uses the non-deterministic function {name or node.key} "
                "(a governed copy must be reproducible from its source version)"
            )
    return None


def unknown_column(tree: exp.Expr, allowed: Sequence[str]) -> str | None:
    """The first column the expression reads that is not allowed (Spark resolves names without
    regard to case), or a qualified one."""
    known = {name.lower() for name in allowed}
    for function in tree.find_all(exp.Lambda):  # x in exists(values, x -> x > 1)
        known |= {str(p.name).lower() for p in function.expressions}
    for column in tree.find_all(exp.Column):
        if column.table:
            return f"qualified column {column.sql(dialect=DIALECT)} (use the bare column name)"
        if column.name.lower() not in known:
            return f"unknown column {column.name}"
    return None


def is_boolean(tree: exp.Expr) -> bool:
    node = tree.unnest()
    if isinstance(node, BOOLEAN_NODES):
        return True
    return bare(function_name(node)) in BOOLEAN_NAMES


def check_row_filter(expression: str, columns: Sequence[str]) -> str | None:
    """None when `expression` is a boolean Spark SQL expression over `columns` that is safe to
    run in a governed copy; else the reason, e.g. "row filter uses a subquery ..."."""
    parsed = parse_expression(expression)
    if isinstance(parsed, str):
        return f"row filter {parsed}"
    problem = unsafe_part(parsed) or unknown_column(parsed, columns)
    if problem:
        return f"row filter {problem}"
    if not is_boolean(parsed):
        return "row filter is not boolean (write a comparison, e.g. plant = 'shanghai')"
    return None


def check_custom_mask(expression: str, columns: Sequence[str] = ()) -> str | None:
    """None when a CUSTOM mask expression is safe: it uses {col}, parses as one Spark SQL
    expression, and reads no column but {col} and `columns` (the governed copy passes none: any
    other column may itself be masked or not granted)."""
    if "{col}" not in expression:
        return "custom mask does not use {col}"
    parsed = parse_expression(expression.replace("{col}", CUSTOM_PLACEHOLDER))
    if isinstance(parsed, str):
        return f"custom mask {parsed}"
    problem = unsafe_part(parsed) or unknown_column(parsed, [CUSTOM_PLACEHOLDER, *columns])
    if problem:
        return f"custom mask {problem}"
    return None
