"""How a Stripe JSON field becomes a DuckDB column: the rules users read to know their schema.

Every top-level field of a Stripe object becomes one column named exactly like the field (quoted,
so any character works). The type is decided per write from *all* values of the field in that
write (one grouped SQL pass over the spooled objects, no Python per row), by the first rule of
``FIELD_RULES`` that matches:

=====================================================  ===========  =========================
JSON values of the field (nulls and absences ignored)   column type  SQL (x: the object)
=====================================================  ===========  =========================
the field is ``id``                                    VARCHAR      transform to VARCHAR
only nulls, or absent, in every object                 VARCHAR [1]  NULL
``true`` / ``false``                                   BOOLEAN      transform to BOOLEAN
strings                                                VARCHAR      transform to VARCHAR
integers of a *time field*, all within ±1e11 s         TIMESTAMPTZ  to_timestamp(<BIGINT>)
integers within int64 (amounts stay in minor units)    BIGINT       transform to BIGINT
integers beyond int64, within int128                   HUGEINT      transform to HUGEINT
integers beyond int128                                 JSON         transform to JSON (digits)
numbers with a fraction or exponent, and integers      DOUBLE       transform to DOUBLE
within ±2^53 (where a double holds them exactly)
objects and arrays                                     JSON         transform to JSON
anything else: values of different kinds               JSON         transform to JSON
=====================================================  ===========  =========================

"transform to T" is ``json_transform(x, '{"<field>": "T", ...}')``, one parse per object for all
fields at once. JSON columns hold the exact value as compact JSON text.

[1] TIMESTAMPTZ for a time field, BIGINT for an amount field. A column that so far holds only
NULLs takes the type of the first real values a later write brings; an empty VARCHAR column
(from a write before these names had a type) takes the named type at the next NULL-only write.

A *time field* (Unix seconds) is decided by name: ``created``, ``updated``, ``date``, names ending
in ``_at`` or ``_date`` (``arrival_date``, ``canceled_at``, ``expires_at``, ...), and
``current_period_start/end``, ``trial_start/end``, ``period_start/end`` -- but only while its values
are integers; a time field holding strings is a VARCHAR like any other.

An *amount field* (minor units) is also decided by name, for its NULL-only case only: ``amount``,
names starting ``amount_`` or ending ``_amount`` (``application_fee_amount`` is NULL on every
charge of an account that takes no Connect fees, and ``sum()`` of a VARCHAR column fails), except
``amount_details``, an object. Its values, when there are any, decide its type by the rules above.

A JSON ``null`` is SQL NULL in every column type (also in JSON columns), as is an absent field.

Three columns are added to every Stripe table: ``_stripe_api_version`` VARCHAR (the Stripe-Version
the objects were rendered in), ``_loaded_at`` TIMESTAMPTZ (one value per write), plus the asset's
``extra_columns`` (constants; see ``python_value_type``).

When a later write meets an existing table (``MERGE_RULES``): a new field adds a column; a field
absent from the write is NULL in the new rows; a column that so far holds only NULLs takes the
type of the first real values; and a genuine conflict widens the column losslessly instead of
failing or truncating -- integers to a wider integer type, integers and doubles to DOUBLE while the
integers fit in ±2^53, everything else to JSON (existing values are converted with ``to_json``;
a TIMESTAMPTZ becomes its Unix seconds again, as Stripe sent it).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

BOOLEAN = "BOOLEAN"
BIGINT = "BIGINT"
HUGEINT = "HUGEINT"
DOUBLE = "DOUBLE"
VARCHAR = "VARCHAR"
JSON = "JSON"
TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"  # how DuckDB itself spells TIMESTAMPTZ in its catalog

TIME_FIELD_NAMES = frozenset(
    {
        "created",
        "updated",
        "date",
        "current_period_start",
        "current_period_end",
        "trial_start",
        "trial_end",
        "period_start",
        "period_end",
    }
)
TIME_FIELD_SUFFIXES = ("_at", "_date")
# Unix seconds beyond this are not plausible times (and would overflow to_timestamp): BIGINT.
MAX_TIME_SECONDS = 10**11

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT128_MIN, INT128_MAX = -(2**127), 2**127 - 1
DOUBLE_EXACT_INT = 2**53  # every integer of at most this magnitude is exactly a double


@dataclass(frozen=True)
class Rule:
    values: str
    duckdb_type: str
    sql: str


# The table of the module docstring, as data (tests check the decisions against it).
FIELD_RULES: tuple[Rule, ...] = (
    Rule("the field is id", VARCHAR, "json_transform(x, 'VARCHAR')"),
    Rule(
        "only nulls / absent",
        f"{VARCHAR} ({TIMESTAMPTZ} for a time field, {BIGINT} for an amount field)",
        "NULL",
    ),
    Rule("true / false", BOOLEAN, "json_transform(x, 'BOOLEAN')"),
    Rule("strings", VARCHAR, "json_transform(x, 'VARCHAR')"),
    Rule("integers of a time field within ±1e11 s", TIMESTAMPTZ, "to_timestamp(<BIGINT>)"),
    Rule("integers within int64", BIGINT, "json_transform(x, 'BIGINT')"),
    Rule("integers beyond int64 within int128", HUGEINT, "json_transform(x, 'HUGEINT')"),
    Rule("integers beyond int128", JSON, "json_transform(x, 'JSON')"),
    Rule("numbers with fraction/exponent (integers within ±2^53)", DOUBLE, "x -> DOUBLE"),
    Rule("objects and arrays", JSON, "json_transform(x, 'JSON')"),
    Rule("values of different kinds", JSON, "json_transform(x, 'JSON')"),
)

MERGE_RULES: tuple[tuple[str, str, str], ...] = (
    ("existing column holds only NULLs", "any", "the new type"),
    ("same type", "same type", "unchanged"),
    ("integer type", "integer type", "the smallest signed integer type holding both"),
    ("FLOAT/DOUBLE", "FLOAT/DOUBLE", DOUBLE),
    ("integer type", "FLOAT/DOUBLE", f"{DOUBLE} if the integers are within ±2^53, else {JSON}"),
    ("anything else", "anything else", JSON),
)


def is_time_field(name: str) -> bool:
    return name in TIME_FIELD_NAMES or name.endswith(TIME_FIELD_SUFFIXES)


NOT_AMOUNT_FIELDS = frozenset({"amount_details"})  # a hash on payment intents and charges


def is_amount_field(name: str) -> bool:
    if name in NOT_AMOUNT_FIELDS:
        return False
    return name == "amount" or name.startswith("amount_") or name.endswith("_amount")


def null_only_type(name: str) -> str:
    """The placeholder type of a field that holds only NULLs so far (see the table's [1])."""
    if is_time_field(name):
        return TIMESTAMPTZ
    return BIGINT if is_amount_field(name) else VARCHAR


@dataclass
class NumericStats:
    """What the survey learnt about the number values of one field."""

    floats: int = 0  # values with a fraction or exponent
    integers: int = 0  # values written as integers (of any size)
    beyond_int128: int = 0  # integers that do not fit HUGEINT
    min_int: int | None = None
    max_int: int | None = None

    @property
    def count(self) -> int:
        return self.floats + self.integers

    @property
    def max_abs_int(self) -> int | None:
        if self.min_int is None or self.max_int is None:
            return None
        return max(abs(self.min_int), abs(self.max_int))


@dataclass
class FieldStats:
    """The kinds of a field's values in one write, by DuckDB ``json_structure`` name: NULL,
    BOOLEAN, VARCHAR, UBIGINT, BIGINT, HUGEINT, DOUBLE; OBJECT and ARRAY for nested values; JSON
    where the values of one page already differ in kind."""

    name: str
    kinds: set[str] = field(default_factory=set)
    numbers: NumericStats | None = None

    @property
    def has_values(self) -> bool:
        return bool(self.kinds - {"NULL"})

    @property
    def only_numbers(self) -> bool:
        """Every non-null value is a number: the column type depends on their range."""
        kinds = self.kinds - {"NULL"}
        return bool(kinds) and kinds <= NUMERIC_JSON_TYPES


NUMERIC_JSON_TYPES = frozenset({"UBIGINT", "BIGINT", "HUGEINT", "DOUBLE"})
_CATEGORY = {
    "BOOLEAN": "boolean",
    "VARCHAR": "string",
    "OBJECT": "nested",
    "ARRAY": "nested",
    "UBIGINT": "number",
    "BIGINT": "number",
    "HUGEINT": "number",
    "DOUBLE": "number",
}  # anything else (JSON: values of several kinds) is "mixed"


@dataclass(frozen=True)
class FieldType:
    """The column type a write needs for one field; ``null_only`` marks a placeholder type."""

    duckdb_type: str
    null_only: bool = False
    ints_fit_double: bool = False  # integer columns: every value is exact as a DOUBLE (±2^53)


def decide_field_type(stats: FieldStats) -> FieldType:
    """The first matching rule of ``FIELD_RULES`` for the values of one field in one write."""
    if stats.name == "id":
        return FieldType(VARCHAR, null_only=not stats.has_values)
    categories = {_CATEGORY.get(kind, "mixed") for kind in stats.kinds if kind != "NULL"}
    if not categories:
        return FieldType(null_only_type(stats.name), null_only=True)
    if len(categories) > 1 or "mixed" in categories:
        return FieldType(JSON)
    (category,) = categories
    if category == "boolean":
        return FieldType(BOOLEAN)
    if category == "string":
        return FieldType(VARCHAR)
    if category == "nested":
        return FieldType(JSON)
    return _numeric_type(stats.name, stats.numbers or NumericStats())


def _numeric_type(name: str, numbers: NumericStats) -> FieldType:
    if numbers.beyond_int128:
        return FieldType(JSON)
    max_abs = numbers.max_abs_int
    if numbers.floats:
        if not numbers.integers or (max_abs is not None and max_abs <= DOUBLE_EXACT_INT):
            return FieldType(DOUBLE)
        return FieldType(JSON)
    if max_abs is None:  # no values at all: cannot happen for a number field, be safe
        return FieldType(BIGINT)
    assert numbers.min_int is not None and numbers.max_int is not None
    if numbers.min_int < INT64_MIN or numbers.max_int > INT64_MAX:
        return FieldType(HUGEINT)
    if is_time_field(name) and max_abs < MAX_TIME_SECONDS:
        return FieldType(TIMESTAMPTZ)
    return FieldType(BIGINT, ints_fit_double=max_abs <= DOUBLE_EXACT_INT)


# --- merging with an existing column ---------------------------------------------------------

# Bits of a signed integer type able to hold every value of each integer type.
_SIGNED_BITS = {
    "TINYINT": 8,
    "SMALLINT": 16,
    "INTEGER": 32,
    "BIGINT": 64,
    "HUGEINT": 128,
    "UTINYINT": 16,
    "USMALLINT": 32,
    "UINTEGER": 64,
    "UBIGINT": 128,
}
_SIGNED_TYPE = {8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT", 128: "HUGEINT"}
_FLOATS = frozenset({"FLOAT", "DOUBLE"})
_ALIASES = {
    "TIMESTAMPTZ": TIMESTAMPTZ,
    "INT8": "BIGINT",
    "LONG": "BIGINT",
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "INT2": "SMALLINT",
    "INT1": "TINYINT",
    "INT128": "HUGEINT",
    "FLOAT8": "DOUBLE",
    "FLOAT4": "FLOAT",
    "REAL": "FLOAT",
    "BOOL": "BOOLEAN",
    "STRING": "VARCHAR",
    "TEXT": "VARCHAR",
    '"NULL"': "NULL",
}


def canonical_type(duckdb_type: str) -> str:
    """DuckDB's catalog spelling of a type, so that equal types compare equal."""
    text = duckdb_type.strip()
    upper = text.upper()
    if upper in _ALIASES:
        return _ALIASES[upper]
    if upper.replace(" ", "").isalpha():
        return upper
    return text


def is_integer_type(duckdb_type: str) -> bool:
    return duckdb_type in _SIGNED_BITS


def is_nested_type(duckdb_type: str) -> bool:
    """STRUCT, MAP, LIST, ARRAY and UNION values: stored as JSON by this IO manager."""
    upper = duckdb_type.upper()
    return upper.startswith(("STRUCT", "MAP", "UNION")) or upper.endswith("]")


def merge_types(
    existing: str,
    incoming: str,
    *,
    existing_ints_fit_double: bool = False,
    incoming_ints_fit_double: bool = False,
) -> str:
    """The column type that holds both the existing values and the incoming ones (``MERGE_RULES``).

    The caller handles "the existing column holds only NULLs" and "the incoming values are all
    NULL" before asking. ``*_ints_fit_double`` say whether that side's integers are all within
    ±2^53 (only consulted when integers meet floats).
    """
    if existing == incoming:
        return existing
    if existing in _SIGNED_BITS and incoming in _SIGNED_BITS:
        return _SIGNED_TYPE[max(_SIGNED_BITS[existing], _SIGNED_BITS[incoming])]
    if existing in _FLOATS and incoming in _FLOATS:
        return DOUBLE
    if {existing, incoming} <= _FLOATS | _SIGNED_BITS.keys():
        exact = existing_ints_fit_double if existing in _SIGNED_BITS else incoming_ints_fit_double
        if exact:
            return DOUBLE
    return JSON


def to_json_sql(expr: str, from_type: str) -> str:
    """SQL turning a value of ``from_type`` into JSON without losing it."""
    if from_type == JSON:
        return expr
    if from_type == TIMESTAMPTZ:
        # Back to the Unix seconds Stripe sent (text only if there are sub-second digits).
        return (
            f"CASE WHEN epoch_us({expr}) % 1000000 = 0"
            f" THEN to_json(epoch_us({expr}) // 1000000) ELSE to_json({expr}) END"
        )
    return f"to_json({expr})"


def convert_sql(expr: str, from_type: str, to_type: str) -> str:
    """SQL converting ``expr`` (of ``from_type``) to ``to_type`` after a merge."""
    if from_type == to_type:
        return expr
    if to_type == JSON:
        return to_json_sql(expr, from_type)
    return f"CAST({expr} AS {to_type})"


def json_transform_type(column_type: str) -> tuple[str, str]:
    """How a Stripe field is read into a column of ``column_type``.

    Returns the type to give ``json_transform`` and a template wrapping the transformed value.
    """
    if column_type == TIMESTAMPTZ:
        return BIGINT, "to_timestamp({})"
    if column_type in (JSON, BOOLEAN, BIGINT, HUGEINT, DOUBLE, VARCHAR):
        return column_type, "{}"
    # Only reached when this write has no values for the column (it keeps its existing type).
    return VARCHAR, f"CAST({{}} AS {column_type})"


def python_value_type(value: Any) -> tuple[str, Any]:
    """The column type of an ``extra_columns`` constant and the parameter to bind for it."""
    if value is None:
        return VARCHAR, None
    if isinstance(value, bool):
        return BOOLEAN, value
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return BIGINT, value
        if INT128_MIN <= value <= INT128_MAX:
            return HUGEINT, str(value)
        return JSON, str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return DOUBLE, str(value)
        return DOUBLE, value
    if isinstance(value, str):
        return VARCHAR, value
    if isinstance(value, datetime):
        return (TIMESTAMPTZ if value.tzinfo else "TIMESTAMP"), value
    if isinstance(value, date):
        return "DATE", value
    if isinstance(value, dict | list | tuple):
        return JSON, json.dumps(value)
    raise TypeError(
        f"extra_columns value {value!r} of type {type(value).__name__} is not supported: use"
        " None, bool, int, float, str, datetime, date, or a JSON-serialisable dict or list."
    )
