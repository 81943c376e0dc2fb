"""The project's DuckDB IO manager.

Assets return:

- ``StripeObjects(spool, api_version, extra_columns)`` -- raw Stripe pages spooled to a file;
  written as typed rows by DuckDB itself (``type_mapping`` documents the column types);
- ``SqlTable(sql)`` -- a SELECT that DuckDB runs to (re)build a derived table in place;
- ``pd.DataFrame`` -- for users' own assets.

Inputs load as ``pd.DataFrame``. Each write is one transaction (delete of the old slice, schema
changes and insert commit together or not at all); partition windows are compared in UTC; new
fields add columns and type conflicts widen instead of failing.
"""

from .client import DuckDBLockError, DuckDBLockTimeoutError, StripeDuckDbClient
from .dataframe_handler import DataFrameTypeHandler
from .manager import StripeDbIOManager, StripeDuckDBIOManager
from .metadata import COLUMN_DESCRIPTIONS
from .relation import RelationWriteError
from .spool import ObjectSpool, SqlTable, StripeObjects
from .sql_handler import SqlTableTypeHandler
from .stripe_handler import StripeObjectsTypeHandler, StripeWriteError

__all__ = [
    "COLUMN_DESCRIPTIONS",
    "DataFrameTypeHandler",
    "DuckDBLockError",
    "DuckDBLockTimeoutError",
    "ObjectSpool",
    "RelationWriteError",
    "SqlTable",
    "SqlTableTypeHandler",
    "StripeDbIOManager",
    "StripeDuckDBIOManager",
    "StripeDuckDbClient",
    "StripeObjects",
    "StripeObjectsTypeHandler",
    "StripeWriteError",
]
