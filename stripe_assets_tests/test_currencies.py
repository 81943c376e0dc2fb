"""Minor-unit exponents, in Python and in the SQL the analytics use."""

from decimal import Decimal

import duckdb
import pytest

from stripe_assets.assets.currencies import exponent, major_units_sql


@pytest.mark.parametrize(("currency", "exp"), [("usd", 2), ("JPY", 0), ("kwd", 3), ("bhd", 3),
                                               ("xof", 0), ("eur", 2)])
def test_exponent_follows_stripe_currency_rules(currency, exp):
    assert exponent(currency) == exp


@pytest.mark.parametrize(("amount", "currency", "major"), [
    (1099, "usd", Decimal("10.99")), (1099, "jpy", Decimal("1099")),
    (1099, "kwd", Decimal("1.099")), (-5, "eur", Decimal("-0.05")),
    (9_007_199_254_740_993, "usd", Decimal("90071992547409.93")),
])
def test_major_units_sql_is_exact(amount, currency, major):
    sql = major_units_sql("a", "c")
    value = duckdb.execute(f"SELECT {sql} FROM (SELECT {amount}::BIGINT AS a, '{currency}' AS c)")
    assert value.fetchall()[0][0] == major
