"""How many decimals each currency's minor unit has, for turning Stripe amounts into money.

Stripe amounts are integers in the minor unit: 1099 USD cents = 10.99 USD, but 1099 JPY = 1099
JPY (zero-decimal) and 1099 KWD fils = 1.099 KWD (three-decimal).
"""

ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".lower().split()
)
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".lower().split())


def exponent(currency: str) -> int:
    code = currency.lower()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def _sql_list(codes: frozenset[str]) -> str:
    return ", ".join(f"'{c}'" for c in sorted(codes))


def major_units_sql(amount: str, currency: str) -> str:
    """SQL for `amount` (minor units) in major units, exactly, as DECIMAL(38, 3)."""
    return (
        f"CAST(CAST({amount} AS DECIMAL(38, 3)) * CASE "
        f"WHEN lower({currency}) IN ({_sql_list(ZERO_DECIMAL)}) THEN 1 "
        f"WHEN lower({currency}) IN ({_sql_list(THREE_DECIMAL)}) THEN 0.001 "
        f"ELSE 0.01 END AS DECIMAL(38, 3))"
    )
