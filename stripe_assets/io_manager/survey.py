"""What a write must know about its spooled objects before it can type them.

One DuckDB pass over the spool, per page (a line):

- ``json_structure`` merges each field's kind over the page's objects (a DuckDB JSON type name,
  a nested structure, or ``JSON`` where the values differ in kind). Pages with the same
  structure are grouped, and a spool has a handful, so Python reads a few rows, not a row per
  field per object;
- ``json_transform`` counts the objects and their string ids, and turns the fields that held
  integers in the first page into HUGEINT (exact for every integer ``json_structure`` calls
  UBIGINT, BIGINT or HUGEINT) for their range and count.

Number fields that pass could not range (fractions somewhere, integers beyond 128 bits, or no
integer in the first page) get a second pass over just those fields, the census: their values as
JSON text, classified by regex. A spool of Stripe objects seldom needs it.

It replaced grouping ``json_keys`` x ``json_type`` of every field of every object, then the census
of every number field: 0.43 + 0.22 s -> 0.40 s for 50,000 charges (benchmarks/README.md).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from .schema import check_column_names
from .sql import quote_ident, quote_literal
from .type_mapping import FieldStats, NumericStats

# json_structure's names for integers: json_transform to HUGEINT keeps each of them exactly.
_INTEGER_KINDS = frozenset({"UBIGINT", "BIGINT", "HUGEINT"})


@dataclass
class Survey:
    objects: int = 0
    with_string_id: int = 0  # objects whose `id` is a string
    keys: list[str] = field(default_factory=list)  # in Stripe's order (the first object's)
    fields: dict[str, FieldStats] = field(default_factory=dict)


def pages_sql(path: str | Path) -> str:
    """The spool as a table of page envelopes (column ``json``), one per line."""
    return f"read_json_objects({quote_literal(str(path))}, format='newline_delimited')"


def survey_spool(connection: duckdb.DuckDBPyConnection, path: Path, what: str) -> Survey:
    """Fields, their kinds and number ranges, and the object count of the spool at ``path``.

    Fails (naming ``what``) on fields that differ only in case before any statement names them:
    DuckDB would fail on such a clash less clearly."""
    first_keys, integer_fields = first_page_fields(path)
    # A name clashing in case with another would fail the statement: leave it to the check.
    lower = Counter(name.lower() for name in dict.fromkeys(["id", *integer_fields]))
    # An empty name cannot be quoted in SQL: left to the same check.
    ranged = [name for name in integer_fields
              if name not in ("id", "") and lower[name.lower()] == 1]
    shape = {"id": "JSON", **dict.fromkeys(ranged, "HUGEINT")}
    structure = quote_literal(json.dumps({"data": [shape]}))
    ids = "list_transform(v.data, lambda o: o.id)"
    aggregates = [
        "sum(len(v.data))",
        f"sum(list_count(list_filter({ids}, lambda i: starts_with(i, '\"'))))",  # strings
    ]
    for key in ranged:
        values = f"list_transform(v.data, lambda o: o.{quote_ident(key)})"
        aggregates += [f"min(list_min({values}))", f"max(list_max({values}))"]
        aggregates.append(f"sum(list_count({values}))")
    rows = connection.execute(
        f"SELECT s, {', '.join(aggregates)} FROM (SELECT json_structure(json) AS s,"
        f" json_transform(json, {structure}) AS v FROM {pages_sql(path)}) GROUP BY s"
    ).fetchall()

    survey = Survey()
    ranges: dict[str, list[tuple[Any, Any, int]]] = {key: [] for key in ranged}
    for row in rows:
        survey.objects += int(row[1] or 0)
        survey.with_string_id += int(row[2] or 0)
        _add_page_kinds(survey.fields, row[0])
        for index, key in enumerate(ranged):
            low, high, count = row[3 + 3 * index : 6 + 3 * index]
            ranges[key].append((low, high, int(count or 0)))
    survey.keys = _ordered_keys(first_keys, survey.fields)
    check_column_names(survey.keys, what)

    # Ranged values are trustworthy only if every page held integers (or nulls) there.
    unranged = []
    for key, stats in survey.fields.items():
        if not stats.only_numbers:
            continue
        if key in ranges and stats.kinds - {"NULL"} <= _INTEGER_KINDS:
            stats.numbers = _integer_stats(ranges[key])
        else:
            unranged.append(key)
    if unranged:
        for key, numbers in census(connection, path, unranged).items():
            survey.fields[key].numbers = numbers
    return survey


def _ordered_keys(first: Sequence[str], fields: Mapping[str, FieldStats]) -> list[str]:
    """Columns in the order Stripe sends them (the first object's), then the rest by name."""
    ordered = [key for key in dict.fromkeys(first) if key in fields]
    seen = set(ordered)
    return ordered + sorted(key for key in fields if key not in seen)


def first_page_fields(path: Path) -> tuple[list[str], list[str]]:
    """The first object's fields in Stripe's order, and the fields holding integers anywhere in
    the first page that has objects (empty pages, windows with nothing in them, come first as
    often as not). Python reads one page: a LIMIT 1 over DuckDB's parallel scan parses much of
    the spool before it stops (0.09 s of a 1.5 s write of 50,000 charges)."""
    with open(path, "rb") as spool:
        for line in spool:
            try:
                data = json.loads(line).get("data")
            except (ValueError, AttributeError):
                continue  # the survey reads every page: a guess is all that is at stake here
            objects = [o for o in data if isinstance(o, dict)] if isinstance(data, list) else []
            if objects and objects[0]:
                integers = dict.fromkeys(
                    key
                    for o in objects
                    for key, value in o.items()
                    if isinstance(value, int) and not isinstance(value, bool)
                )
                return list(objects[0]), list(integers)
    return [], []


def _add_page_kinds(fields: dict[str, FieldStats], structure_text: str | None) -> None:
    """Merge one page's ``json_structure`` into ``fields``. A `data` holding anything but
    objects has no structure of fields (``"JSON"``, ``"VARCHAR"``, ...): the values that are not
    objects have no string id, which fails the write anyway."""
    structure = json.loads(structure_text) if structure_text else None
    data = structure.get("data") if isinstance(structure, dict) else None
    element = data[0] if isinstance(data, list) and len(data) == 1 else None
    if isinstance(element, dict):
        for key, kind in element.items():
            fields.setdefault(key, FieldStats(key)).kinds.add(_kind(kind))


def _kind(structure: Any) -> str:
    if isinstance(structure, dict):
        return "OBJECT"
    if isinstance(structure, list):
        return "ARRAY"
    return str(structure)


def _integer_stats(pages: Sequence[tuple[Any, Any, int]]) -> NumericStats:
    lows = [int(low) for low, _, n in pages if n and low is not None]
    highs = [int(high) for _, high, n in pages if n and high is not None]
    return NumericStats(
        integers=sum(n for _, _, n in pages),
        min_int=min(lows, default=None),
        max_int=max(highs, default=None),
    )


def census(
    connection: duckdb.DuckDBPyConnection, path: Path, fields: Sequence[str]
) -> Mapping[str, NumericStats]:
    """For number fields: integer range, integers beyond HUGEINT, values with fractions."""
    structure = quote_literal(json.dumps({"data": [dict.fromkeys(fields, "JSON")]}))
    aggregates = []
    for key in fields:
        text = f"CAST(v.{quote_ident(key)} AS VARCHAR)"
        is_int = f"regexp_full_match({text}, '-?[0-9]+')"
        is_number = f"regexp_full_match({text}, '-?[0-9][0-9.eE+-]*')"
        as_int = f"TRY_CAST({text} AS HUGEINT)"
        aggregates += [
            f"count(*) FILTER (WHERE {is_number} AND NOT {is_int})",
            f"count(*) FILTER (WHERE {is_int})",
            f"count(*) FILTER (WHERE {is_int} AND {as_int} IS NULL)",
            f"min({as_int}) FILTER (WHERE {is_int})",
            f"max({as_int}) FILTER (WHERE {is_int})",
        ]
    row = connection.execute(
        f"SELECT {', '.join(aggregates)} FROM"
        f" (SELECT unnest(json_transform(json, {structure}).data) AS v FROM {pages_sql(path)})"
    ).fetchall()[0]
    return {key: NumericStats(*row[5 * i : 5 * i + 5]) for i, key in enumerate(fields)}
