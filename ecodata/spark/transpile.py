"""DuckDB view SQL -> Spark SQL: sqlglot's transpiler plus the rewrites it does not make itself.

:func:`to_spark` parses a view's DuckDB SELECT (``ecodata/sql``, the single source), rewrites
the DuckDB-only constructs below on the syntax tree, and prints it in sqlglot's Spark dialect:

* ``a ASOF LEFT JOIN b ON <equalities> AND a.x >= b.y``: a LEFT JOIN on ``b`` with the next
  ``y`` of the same equality keys beside each row (``lead``), matching ``b.y <= a.x < next``;
* ``[NOT] MATERIALIZED`` CTE hints are dropped (Spark plans CTEs itself);
* ``quantile_cont(x, q)`` -> ``percentile(x, q)`` (exact, linear interpolation, as DuckDB);
* ``len(list)`` -> ``array_size(list)`` (sqlglot prints ``LENGTH``, a string function in Spark);
* ``GROUPING(a, b)`` -> ``(grouping(a) * 2 + grouping(b))`` (Spark's ``grouping`` takes one
  column, and its ``grouping_id`` only every grouping column);
* ``UNION ALL BY NAME`` -> ``UNION ALL`` with the columns listed in the same order on both sides;
* ``format('{} ...', x)`` -> ``format_string('%s ...', CAST(x AS STRING))``; ``list_has_all(a, b)``
  -> ``array_size(array_except(b, a)) = 0``; ``extract(epoch FROM time)`` -> seconds since midnight;
* ``a / b`` -> ``try_divide(CAST(a AS DOUBLE), b)``: DuckDB divides in DOUBLE (decimals too, where
  Spark would keep a decimal) and gives null for a division by zero (Spark's ANSI mode fails);
* ``avg(x)`` -> ``avg(CAST(x AS DOUBLE))`` (DuckDB averages in DOUBLE, Spark keeps decimals);
* ``round(x, n)`` -> ``try_divide(round(x * 10^n, 0), 10^n)`` (DuckDB's rounding of a DOUBLE);
* ``CROSS JOIN LATERAL (VALUES (...), ...) AS v(c1, c2)`` -> ``LATERAL inline(array(struct(...)))``
  (Spark's inline tables take constants only).

A construct none of these covers makes Spark refuse the view (``register`` names it), or raises
here for a form of one of them that is not rewritten; every shipped view transpiles.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark

__all__ = ["to_spark"]

_NEXT = "_asof_next"


class _Spark(Spark):
    """sqlglot's Spark dialect with Spark 4's TIME type (sqlglot prints TIME as TIMESTAMP)."""

    class Generator(Spark.Generator):  # type: ignore[valid-type,misc]
        TYPE_MAPPING: ClassVar[dict[Any, str]] = {
            **Spark.Generator.TYPE_MAPPING, exp.DataType.Type.TIME: "TIME"}


_LEN = re.compile(r"\blen\s*\(", re.IGNORECASE)


def to_spark(sql: str, *, function: str | None = None) -> str:
    """The Spark SQL of one DuckDB SELECT (comments kept as ``/* */``).

    ``function``: the SQL is the body of that table function, whose argument ``as_of`` is named
    ``<function>.as_of`` (Spark resolves a bare argument name in the function's top query only).

    Example: ``to_spark("SELECT quantile_cont(x, 0.5) FROM t")`` -> ``SELECT PERCENTILE(x, 0.5) FROM t``.
    """
    # DuckDB's len() takes strings and lists; the views call it on lists only (length() on strings)
    tree: Any = sqlglot.parse_one(_LEN.sub("array_length(", sql), read="duckdb")
    if function is not None:
        tree = _hoist_scalar_subqueries(tree)
        for column in list(tree.find_all(exp.Column)):
            if column.name == "as_of" and not column.table:
                column.replace(exp.column("as_of", table=function))
    for rewrite in (_drop_materialized, _union_by_name, _asof_joins, _functions, _lateral_values, _rounding):
        tree = rewrite(tree)
    return str(tree.sql(dialect=_Spark, pretty=True))


def _hoist_scalar_subqueries(tree: exp.Expression) -> exp.Expression:
    """``WHERE x = (SELECT v ...)`` -> ``FROM ..., (SELECT v AS _v ...) AS _s0 WHERE x = _s0._v``: a
    Spark SQL function's argument resolves in the FROM's subqueries but not in a WHERE's."""
    if not isinstance(tree, exp.Select) or tree.args.get("where") is None:
        return tree
    for number, sub in enumerate(list(tree.args["where"].find_all(exp.Subquery))):
        inner = sub.this
        if not isinstance(inner, exp.Select) or len(inner.expressions) != 1:
            continue
        name = f"_s{number}"
        inner.set("expressions", [exp.alias_(inner.expressions[0].copy(), "_v")])
        sub.replace(exp.column("_v", table=name))
        tree = tree.join(exp.alias_(inner.subquery(), name, table=True), join_type="CROSS")
    return tree


def _rounding(tree: exp.Expression) -> exp.Expression:
    """``round(x, n)`` -> ``try_divide(round(x * 10^n, 0), 10^n)``: DuckDB rounds a DOUBLE as
    ``round(x * 10^n) / 10^n`` on the binary value (6.7761499999999995 -> 6.7762), Spark's ``round`` on
    its shortest decimal text (-> 6.7761); a decimal keeps its exact value either way."""
    def rewrite(node: exp.Expression) -> exp.Expression:
        places = node.args.get("decimals") if isinstance(node, exp.Round) else None
        if not isinstance(places, exp.Literal) or places.is_string or int(places.this) <= 0:
            return node
        scale = exp.Literal.number(10 ** int(places.this))
        shifted = exp.Anonymous(this="round", expressions=[
            exp.Mul(this=exp.paren(node.this.copy()), expression=scale), exp.Literal.number(0)])
        return exp.Anonymous(this="try_divide", expressions=[shifted, scale.copy()])

    return tree.transform(rewrite)


def _drop_materialized(tree: exp.Expression) -> exp.Expression:
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", None)
    return tree


def _functions(tree: exp.Expression) -> exp.Expression:
    def inner(node: exp.Expression) -> exp.Expression:
        # a replacement's children are not visited again by transform(): rewrite them first
        return node.copy().transform(rewrite)

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.PercentileCont) and node.expression is not None and not isinstance(
                node.parent, exp.WithinGroup):
            return exp.Anonymous(this="percentile", expressions=[inner(node.this), inner(node.expression)])
        if isinstance(node, exp.Format) and isinstance(node.this, exp.Literal):
            # DuckDB's format('{} ...', ...) -> format_string('%s ...', ...) over strings (Spark's %s
            # of a DATE prints its day number)
            pattern = node.this.this.replace("%", "%%").replace("{}", "%s")
            args = [exp.cast(inner(e), exp.DataType.build("STRING")) for e in node.expressions]
            return exp.Anonymous(this="format_string", expressions=[exp.Literal.string(pattern), *args])
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "list_has_all":
            whole, part = (inner(e) for e in node.expressions)
            missing = exp.Anonymous(this="array_except", expressions=[part, whole])
            return exp.paren(exp.EQ(this=exp.Anonymous(this="array_size", expressions=[missing]),
                                    expression=exp.Literal.number(0)))
        if isinstance(node, exp.Extract) and node.this.name.upper() == "EPOCH":
            # the views take the epoch of TIME columns only: seconds since midnight
            since = exp.Anonymous(this="time_diff", expressions=[
                exp.Literal.string("MICROSECOND"), exp.cast(exp.Literal.string("00:00:00"), exp.DataType.build("TIME")),
                inner(node.expression)])
            return exp.paren(exp.Div(this=since, expression=exp.Literal.number("1e6")))
        if isinstance(node, exp.Div):
            # DuckDB's '/' is a DOUBLE division (decimals too) and null when dividing by zero
            return exp.Anonymous(this="try_divide", expressions=[
                exp.cast(inner(node.this), exp.DataType.build("DOUBLE")), inner(node.expression)])
        if isinstance(node, exp.Avg) and not isinstance(node.this, exp.Cast):
            # DuckDB's avg is a DOUBLE (of decimals too, where Spark's stays a decimal)
            return exp.Avg(this=exp.cast(inner(node.this), exp.DataType.build("DOUBLE")))
        if isinstance(node, exp.ArraySize):  # null for a null list (Spark's size gives -1 unless ANSI)
            return exp.Anonymous(this="array_size", expressions=[node.this])
        if isinstance(node, exp.Grouping) and len(node.expressions) > 1:
            # DuckDB's GROUPING(a, b) is the bit mask grouping(a) * 2 + grouping(b)
            bits = [exp.Anonymous(this="grouping", expressions=[inner(e)]) for e in node.expressions]
            mask: exp.Expression = bits[0]
            for bit in bits[1:]:
                mask = exp.Add(this=exp.Mul(this=exp.paren(mask), expression=exp.Literal.number(2)), expression=bit)
            return exp.paren(mask)
        return node

    return tree.transform(rewrite)


def _asof_joins(tree: exp.Expression) -> exp.Expression:
    for join in list(tree.find_all(exp.Join)):
        if str(join.args.get("method") or "").upper() != "ASOF":
            continue
        right = join.this
        alias = right.alias_or_name
        equal, step = _asof_condition(join.args["on"], alias)
        if not isinstance(right, exp.Table):
            raise ValueError("ASOF JOIN over a subquery is not rewritten")
        keys = [c.copy() for c in equal]
        window = exp.Window(this=exp.Anonymous(this="lead", expressions=[exp.column(step.name)]),
                            partition_by=[exp.column(k.name) for k in keys],
                            order=exp.Order(expressions=[exp.Ordered(this=exp.column(step.name))]))
        ranged = exp.select(exp.Star(), exp.alias_(window, _NEXT)).from_(exp.table_(right.name))
        join.set("this", exp.alias_(ranged.subquery(), alias, table=True))
        join.set("method", None)
        outer = join.args["on"].find(exp.GTE)
        assert outer is not None
        left_value = outer.this.copy()
        upper = exp.or_(exp.column(_NEXT, table=alias).is_(exp.null()),
                        exp.LT(this=left_value, expression=exp.column(_NEXT, table=alias)))
        join.set("on", exp.and_(join.args["on"], exp.paren(upper)))
    return tree


def _asof_condition(on: exp.Expression, alias: str) -> tuple[list[exp.Column], exp.Column]:
    """The right side's equality columns and its ``>=`` column of an ASOF join condition."""
    parts = list(on.flatten()) if isinstance(on, exp.And) else [on]
    equal: list[exp.Column] = []
    step: exp.Column | None = None
    for part in parts:
        sides = [part.this, part.expression]
        mine = [s for s in sides if isinstance(s, exp.Column) and s.table == alias]
        if isinstance(part, exp.EQ) and len(mine) == 1:
            equal.append(mine[0])
        elif isinstance(part, exp.GTE) and isinstance(part.expression, exp.Column) and part.expression.table == alias:
            step = part.expression
        else:
            raise ValueError(f"ASOF JOIN condition {part.sql('duckdb')} is not rewritten")
    if step is None:
        raise ValueError("ASOF JOIN without a '>=' condition on the right side")
    return equal, step


def _lateral_values(tree: exp.Expression) -> exp.Expression:
    for lateral in list(tree.find_all(exp.Lateral)):
        values = lateral.this.this if isinstance(lateral.this, exp.Subquery) else lateral.this
        if not isinstance(values, exp.Values):
            continue
        alias = lateral.args["alias"]
        names = [c.name for c in alias.columns]
        structs = [exp.Struct(expressions=[exp.alias_(v.copy(), n) for v, n in zip(row.expressions, names, strict=True)])
                   for row in values.expressions]
        inline = exp.Anonymous(this="inline", expressions=[exp.Array(expressions=structs)])
        lateral.set("this", inline)
    return tree


def _union_by_name(tree: exp.Expression) -> exp.Expression:
    """``a UNION ALL BY NAME b`` -> ``a UNION ALL b`` with both sides' columns listed in DuckDB's
    order (a's columns, then b's new ones; null where a side lacks one). Each side must name its
    columns, or select ``*`` / ``* EXCLUDE (...)`` from one of the tables' latest views."""
    for union in list(tree.find_all(exp.Union)):
        if not union.args.get("by_name"):
            continue
        sides = [union.this, union.expression]
        named = [_named_columns(side) for side in sides]
        order = list(dict.fromkeys([*named[0], *named[1]]))
        for side, columns in zip(sides, named, strict=True):
            side.set("expressions", [columns[n].copy() if n in columns else exp.alias_(exp.null(), n)
                                     for n in order])
        union.set("by_name", None)
    return tree


def _named_columns(select: exp.Expression) -> dict[str, exp.Expression]:
    from ecodata.tables.schemas import ALL_TABLES

    if not isinstance(select, exp.Select):
        raise ValueError("UNION BY NAME of a nested set operation is not rewritten")
    out: dict[str, exp.Expression] = {}
    for item in select.expressions:
        if isinstance(item, exp.Star):
            source = select.args["from_"].this
            if not isinstance(source, exp.Table) or select.args.get("joins") or source.name not in ALL_TABLES:
                raise ValueError("UNION BY NAME over '*' of anything but one table is not rewritten")
            dropped = {c.name for c in (item.args.get("except_") or [])}
            for name in [*ALL_TABLES[source.name].column_names, "snapshot_date"]:
                if name not in dropped:
                    out[name] = exp.column(name)
        else:
            out[item.alias_or_name] = item
    return out
