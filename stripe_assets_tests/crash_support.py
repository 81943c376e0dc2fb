"""`python -m stripe_assets_tests.crash_support MARKER TABLE load ARGS...`: `stripe-assets load`
that stops inside the write transaction of stripe.TABLE, so that a test can SIGKILL it there.

The new rows are in and the old ones deleted, but COMMIT has not run: MARKER then holds, as
JSON, what the transaction sees (the row count), and the process waits to be killed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    marker, table, *cli_args = argv
    from stripe_assets.io_manager.stripe_handler import StripeObjectsTypeHandler

    original = StripeObjectsTypeHandler.handle_output

    def handle_output(self: Any, context: Any, table_slice: Any, obj: Any,
                      connection: Any) -> Mapping[str, Any]:
        metadata = original(self, context, table_slice, obj, connection)
        if table_slice.table == table:
            [(rows,)] = connection.execute(
                f'SELECT count(*) FROM "{table_slice.schema}"."{table}"'
            ).fetchall()
            Path(marker).write_text(json.dumps({"rows_in_transaction": rows}))
            time.sleep(600)
        return metadata

    StripeObjectsTypeHandler.handle_output = handle_output  # type: ignore[method-assign,assignment]
    from stripe_assets.cli import main as cli_main

    return cli_main(cli_args)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
