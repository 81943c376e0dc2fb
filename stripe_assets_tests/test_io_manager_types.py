"""How Stripe JSON fields become DuckDB columns (``type_mapping``), and that nothing is lost."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stripe_assets.io_manager import StripeDuckDBIOManager
from stripe_assets.io_manager.type_mapping import (
    BIGINT,
    DOUBLE,
    HUGEINT,
    JSON,
    TIMESTAMPTZ,
    VARCHAR,
    merge_types,
)

from .io_support import DAILY, column_types, query, stripe_objects, ts

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def write(db: str, objects: list[dict[str, Any]], day: str = "2024-01-02") -> None:
    """One partitioned write through the real DbIOManager path (no Dagster run around it)."""
    manager = StripeDuckDBIOManager(database=db).create_io_manager(None)
    context = dg.build_output_context(
        asset_key=["stripe", "objects"],
        partition_key=day,
        asset_partitions_def=DAILY,
        definition_metadata={"partition_expr": "created"},
    )
    manager.handle_output(context, stripe_objects(objects))


def rows_by_id(db: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    with duckdb.connect(db) as connection:
        cursor = connection.execute('SELECT * FROM "stripe"."objects"')
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {row["id"]: row for row in rows}, column_types(db, "stripe.objects")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "warehouse.duckdb")


T = ts("2024-01-02", 1)

RULE_CASES: dict[str, tuple[Any, Any, str]] = {
    # field: (value in the first object, value in the second, expected column type)
    "nothing": (None, None, VARCHAR),
    "expires_at": (None, None, TIMESTAMPTZ),  # a NULL-only time field
    "application_fee_amount": (None, None, BIGINT),  # a NULL-only amount field
    "amount_details": (None, None, VARCHAR),  # an object when present, not an amount
    "paid": (True, False, "BOOLEAN"),
    "status": ("succeeded", "ünïcödé ✓", VARCHAR),
    "updated": (T, T + 1, TIMESTAMPTZ),
    "date": (T, T, TIMESTAMPTZ),
    "arrival_date": (T, T, TIMESTAMPTZ),
    "canceled_at": (T, None, TIMESTAMPTZ),
    "current_period_start": (T, T, TIMESTAMPTZ),
    "current_period_end": (T, T, TIMESTAMPTZ),
    "trial_start": (T, T, TIMESTAMPTZ),
    "trial_end": (T, T, TIMESTAMPTZ),
    "period_start": (T, T, TIMESTAMPTZ),
    "period_end": (T, T, TIMESTAMPTZ),
    "due_date": ("tomorrow", "later", VARCHAR),  # a time name with strings is a string
    "sent_at": (T * 1000, T, BIGINT),  # milliseconds are no plausible Unix seconds
    "amount": (2000, -5, BIGINT),
    "uint64": (2**64 - 1, 0, HUGEINT),
    "below_int64": (-(2**63) - 1, 1, HUGEINT),
    "int128_max": (2**127 - 1, -(2**127), HUGEINT),
    "beyond_int128": (2**127, 1, JSON),
    "fee_rate": (0.029, 1e-300, DOUBLE),
    "mixed_numbers": (1, 2.5, DOUBLE),
    "inexact_mix": (2**53 + 1, 2.5, JSON),
    "metadata": ({"order": "1", "a.b": [1, {"c": None}]}, {}, JSON),
    "items": ([1, "a", None, 1.5, 2**70], [], JSON),
    "mixed_kinds": ("a", 1, JSON),
}


# The spool's first page is read apart, to guess which fields to range in the survey's main
# pass (survey.py): every order must give the same types, whatever that page holds.
@pytest.mark.parametrize("order", ["as listed", "second first", "all null first"])
def test_each_rule_of_the_type_mapping_gives_its_column_type_and_keeps_values(db, order):
    first = {"id": "obj_1", "created": T, **{k: v[0] for k, v in RULE_CASES.items()}}
    second = {"id": "obj_2", "created": T, **{k: v[1] for k, v in RULE_CASES.items()}}
    nulls = {"id": "obj_0", "created": T, **dict.fromkeys(RULE_CASES)}
    objects = {
        "as listed": [first, second],
        "second first": [second, first],
        "all null first": [nulls, first, second],
    }[order]
    write(db, objects)
    rows, types = rows_by_id(db)

    assert {k: types[k] for k in RULE_CASES} == {k: v[2] for k, v in RULE_CASES.items()}
    assert (types["id"], types["created"]) == (VARCHAR, TIMESTAMPTZ)
    for obj in objects:
        for key, expected in obj.items():
            assert_same(rows[obj["id"]][key], expected, types[key], key)


def test_integers_beyond_int64_and_int128_keep_every_digit(db):
    values = [2**63, 2**64 + 7, -(2**100), 2**127 - 1, 10**40, -(10**45) - 3]
    write(db, [{"id": f"o{i}", "created": T, "n": v, "big": [v]} for i, v in enumerate(values)])
    rows, types = rows_by_id(db)

    assert types["n"] == JSON  # 10**40 does not fit HUGEINT, so the whole column is JSON
    assert [json.loads(rows[f"o{i}"]["n"]) for i in range(len(values))] == values
    assert [json.loads(rows[f"o{i}"]["big"]) for i in range(len(values))] == [[v] for v in values]


def test_unicode_and_keys_with_dots_quotes_and_slashes_survive(db):
    weird = ["a.b", 'q"x', "s/t", "t~u", "it's", "ключ", "emoji 😀", "$.root", "/lead", "x y"]
    obj = {"id": "ch_ü😀", "created": T}
    obj |= {key: f'value of {key} \n\t"quoted" \\ 日本' for key in weird}
    obj["nested"] = {"日本": ["東京", {"x.y": 1, 'q"': "ü"}], "": None}
    write(db, [obj])
    rows, types = rows_by_id(db)

    row = rows["ch_ü😀"]
    assert all(row[key] == obj[key] for key in weird)
    assert json.loads(row["nested"]) == obj["nested"]
    assert set(weird) <= set(types)


def test_json_null_is_sql_null_in_every_column_type(db):
    kinds = {"b": True, "s": "x", "i": 1, "h": 2**70, "f": 0.5, "o": {"a": 1}, "l": [1], "t_at": T}
    write(db, [{"id": "full", "created": T, **kinds}, {"id": "nulls", "created": T,
                                                       **dict.fromkeys(kinds)}])  # fmt: skip

    types = column_types(db, "stripe.objects")
    assert {k: types[k] for k in kinds} == {"b": "BOOLEAN", "s": VARCHAR, "i": BIGINT,
                                            "h": HUGEINT, "f": DOUBLE, "o": JSON, "l": JSON,
                                            "t_at": TIMESTAMPTZ}
    assert query(db, f"SELECT {', '.join(kinds)} FROM stripe.objects WHERE id = 'nulls'") == [
        (None,) * len(kinds)
    ]


@pytest.mark.parametrize(
    ("existing", "incoming", "fit", "merged"),
    [
        ("BIGINT", "BIGINT", False, "BIGINT"),
        ("INTEGER", "BIGINT", False, "BIGINT"),
        ("BIGINT", "HUGEINT", False, "HUGEINT"),
        ("UBIGINT", "BIGINT", False, "HUGEINT"),
        ("FLOAT", "DOUBLE", False, "DOUBLE"),
        ("BIGINT", "DOUBLE", True, "DOUBLE"),
        ("BIGINT", "DOUBLE", False, "JSON"),
        ("HUGEINT", "DOUBLE", False, "JSON"),
        ("VARCHAR", "BIGINT", True, "JSON"),
        ("BOOLEAN", "BIGINT", True, "JSON"),
        (TIMESTAMPTZ, "BIGINT", True, "JSON"),
        ("JSON", "VARCHAR", False, "JSON"),
    ],
)
def test_merge_rules_widen_to_a_type_holding_both(existing, incoming, fit, merged):
    assert (
        merge_types(existing, incoming, existing_ints_fit_double=fit, incoming_ints_fit_double=fit)
        == merged
    )


# --- property: whatever Stripe-shaped objects arrive, a row reads back as its object --------


def same(actual: Any, expected: Any) -> bool:
    """Equality that tells True from 1 and compares floats exactly."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(same(actual[k], v) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return actual == expected


def assert_same(actual: Any, expected: Any, column_type: str, key: str) -> None:
    if expected is None:
        assert actual is None, key
    elif column_type == JSON:
        assert same(json.loads(actual), expected), (key, actual, expected)
    elif column_type == TIMESTAMPTZ:
        assert isinstance(actual, datetime) and actual.timestamp() == expected, (key, actual)
    elif column_type == DOUBLE:
        assert actual == float(expected) and (not isinstance(expected, int) or actual == expected)
    else:
        assert same(actual, expected), (key, actual, expected, column_type)


TEXT = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
RESERVED = {"id", "created", "_stripe_api_version", "_loaded_at"}
FIELD_NAMES = (
    st.text(TEXT, min_size=1, max_size=8) | st.sampled_from(["a.b", 'q"x', "s/t", "ü", "paid_at"])
).filter(lambda name: name.lower() not in RESERVED and name.strip() == name)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**31), 2**31)
    | st.integers(-(2**140), 2**140)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(TEXT, max_size=10)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT, max_size=4), inner,
                                                                 max_size=3),
    max_leaves=6,
)  # fmt: skip


@st.composite
def batches(draw) -> list[list[dict[str, Any]]]:
    """1-3 daily batches of objects drawing on one pool of field names, some new per batch."""
    pool = draw(st.lists(FIELD_NAMES, min_size=1, max_size=6, unique_by=str.lower))
    out = []
    for day in range(draw(st.integers(1, 3))):
        names = pool[: max(1, len(pool) * (day + 1) // 3)]  # later batches bring new fields
        objects = []
        for n in range(draw(st.integers(1, 4))):
            fields = draw(st.dictionaries(st.sampled_from(names), VALUES, max_size=len(names)))
            created = ts(f"2024-01-0{day + 2}", draw(st.integers(0, 23)))
            objects.append({"id": f"obj_{day}_{n}", "created": created, **fields})
        out.append(objects)
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(batches())
def test_property_any_stripe_shaped_objects_read_back_as_themselves(days):
    directory = tempfile.mkdtemp(prefix="io-property-")
    try:
        db = str(Path(directory) / "warehouse.duckdb")
        for day, objects in enumerate(days):
            write(db, objects, f"2024-01-0{day + 2}")
        rows, types = rows_by_id(db)
        expected = {obj["id"]: obj for objects in days for obj in objects}
        assert rows.keys() == expected.keys()
        for object_id, obj in expected.items():
            assert obj.keys() <= types.keys(), obj.keys() - types.keys()  # no field dropped
            for key in types:
                if key in ("_stripe_api_version", "_loaded_at"):  # the IO manager's own
                    continue
                assert_same(rows[object_id][key], obj.get(key), types[key], key)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
