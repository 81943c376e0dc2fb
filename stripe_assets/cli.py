"""The `stripe-assets` command: `load` everything into DuckDB, or serve the local `sandbox`."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from stripe_assets import settings
from stripe_assets.settings import SettingsError

if TYPE_CHECKING:
    import dagster as dg


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    settings.read_dotenv()
    if argv and argv[0] == "sandbox":
        from stripe_assets.sandbox.cli import main as sandbox_main

        return sandbox_main(argv[1:], prog="stripe-assets sandbox") or 0
    parser = _parser()
    if argv and argv[0] == "dev" and not {"-h", "--help"} & set(argv[1:2]):
        # argparse's REMAINDER drops a leading option ("dev --port 3001" is an error) and keeps
        # a "--": everything after "dev" goes to dagster dev as typed, minus one leading "--".
        rest = argv[1:]
        args = argparse.Namespace(func=_dev, dagster_args=rest[1:] if rest[:1] == ["--"] else rest)
    else:
        args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stripe-assets", description="Stripe payments data in DuckDB, as Dagster assets."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load", help="materialize every asset into STRIPE_ASSETS_DB")
    load.add_argument("--start", help="first day to load, YYYY-MM-DD (default STRIPE_START_DATE)")
    load.add_argument("--end", help="last day to load, YYYY-MM-DD (default today, UTC)")
    load.add_argument("--select", help="comma-separated asset names, e.g. charges,refunds")
    load.set_defaults(func=_load)
    sub.add_parser("sandbox", help="serve the local Stripe-compatible API (see --help)")
    dev = sub.add_parser(
        "dev", help="run `dagster dev` (with the local sandbox API when no STRIPE_API_KEY is set)"
    )
    dev.add_argument("dagster_args", nargs=argparse.REMAINDER, help="passed to dagster dev")
    dev.set_defaults(func=_dev)
    return parser


def _dates(args: argparse.Namespace, sandbox_start: bool = False) -> tuple[date, date]:
    """`sandbox_start`: STRIPE_START_DATE is the sandbox's first day, set by the CLI."""
    first = settings.start_date()
    today = datetime.now(UTC).date()
    start = settings.parse_day(args.start, "--start") if args.start else first
    end = settings.parse_day(args.end, "--end") if args.end else today
    if start > end:
        raise SettingsError(f"--start {start} is after --end {end}: swap them.")
    if start < first and sandbox_start:
        raise SettingsError(
            f"--start {start} is before the sandbox's first day ({first}): it has no data"
            " before then."
        )
    if start < first:
        raise SettingsError(
            f"--start {start} is before STRIPE_START_DATE ({first}), the first daily partition: "
            f"set STRIPE_START_DATE={start} to load from then."
        )
    if end > today:
        raise SettingsError(f"--end {end} is in the future; the last day is today ({today}).")
    return start, end


def _check_database(db: Path) -> None:
    """Fail before fetching anything when STRIPE_ASSETS_DB cannot be written, or is a file that
    DuckDB cannot open; create its directory otherwise. The file itself is never changed here."""
    import duckdb

    from stripe_assets.database import open_database
    from stripe_assets.io_manager.client import describe_lock_holder, is_lock_conflict

    where = f"STRIPE_ASSETS_DB={db}"
    if db.is_dir():
        raise SettingsError(f"{where} is a directory; set it to a file in it, e.g. "
                            f"{db / 'stripe.duckdb'}.")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file is in the way" if isinstance(exc, FileExistsError | NotADirectoryError) \
            else exc.strerror
        raise SettingsError(
            f"{where}: cannot create the directory {db.parent} ({reason}). Point "
            "STRIPE_ASSETS_DB at a file in a directory you can write."
        ) from None
    if not os.access(db.parent, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
        raise SettingsError(f"{where} is not writable by this user. Point STRIPE_ASSETS_DB at "
                            "a file you can write, or change its permissions.")
    if not db.exists():
        return  # the first load creates it
    try:
        open_database(db, read_only=True).close()
    except duckdb.Error as exc:
        if is_lock_conflict(exc):
            # The load waits for it before each write (lock_timeout_seconds), silently but
            # for this line: the wait is logged at INFO, which `load` does not print.
            print(f"note: {db} is open in {describe_lock_holder(str(exc))}: each write waits"
                  " for it to close the file. Close that session (a notebook, the DuckDB"
                  " CLI, ...) to let the load write.", flush=True)
            return
        raise SettingsError(
            f"{where} cannot be opened: it is not a DuckDB database, or it is damaged or from "
            f"another DuckDB version (DuckDB said: {exc}). It was left as it is: move it aside "
            "to start a new one, or point STRIPE_ASSETS_DB at another file."
        ) from None


def _load(args: argparse.Namespace) -> int:
    from_sandbox = not os.environ.get("STRIPE_API_KEY")
    if from_sandbox and os.environ.get("STRIPE_API_BASE"):
        raise SettingsError(
            f"STRIPE_API_KEY is not set but STRIPE_API_BASE is ({settings.api_base()}). Set "
            "STRIPE_API_KEY to a secret (sk_) or restricted (rk_) key for that server, or unset "
            "STRIPE_API_BASE to load from the bundled local sandbox."
        )
    own_start = from_sandbox and not os.environ.get("STRIPE_START_DATE")
    if own_start:
        os.environ["STRIPE_START_DATE"] = _sandbox_start_date()
    try:
        start, end = _dates(args, sandbox_start=own_start)
        db = settings.db_path()
        _check_database(db)
        assets = _selection(args.select)
        if args.select:
            _check_upstream_tables(assets, db)
        _absolute_dagster_home()
        if from_sandbox:
            return _load_from_sandbox(assets, start, end)
        return _load_with_env(assets, start, end, source=f"Stripe at {settings.api_base()}")
    finally:
        if own_start:
            os.environ.pop("STRIPE_START_DATE", None)


def _load_from_sandbox(assets: list[dg.AssetsDefinition], start: date, end: date) -> int:
    from stripe_assets.local_sandbox import SANDBOX_KEY, running_sandbox

    print("No STRIPE_API_KEY set: starting the bundled Stripe-compatible sandbox API "
          "(generated test data). Set STRIPE_API_KEY to load your own account.", flush=True)
    with running_sandbox() as url:
        os.environ["STRIPE_API_BASE"] = url
        os.environ["STRIPE_API_KEY"] = SANDBOX_KEY
        # The sandbox has no rate limit of its own; no need to pace it like real Stripe.
        os.environ.setdefault("STRIPE_REQUESTS_PER_SECOND", "500")
        try:
            return _load_with_env(assets, start, end, source=f"the local sandbox at {url}")
        finally:
            for name in ("STRIPE_API_BASE", "STRIPE_API_KEY"):
                os.environ.pop(name, None)


def _prepare_dagster_home(home: Path) -> None:
    """Give DAGSTER_HOME the project's dagster.yaml (the `stripe_api` pool's one slot) unless it
    has a dagster.yaml of its own, which is then the user's to keep; then write the pool's limit
    into the instance: Dagster would only on first use, and until then the UI's Deployment >
    Concurrency page says "No pool limits". A limit already set there is kept."""
    import dagster as dg

    from stripe_assets.endpoints import STRIPE_API_POOL

    home.mkdir(parents=True, exist_ok=True)
    ours = Path(__file__).resolve().parent.parent / "dagster.yaml"
    theirs = home / "dagster.yaml"
    if ours.exists() and not theirs.exists():
        shutil.copyfile(ours, theirs)
        # dagster dev then warns that ./dagster.yaml "will not be used": its settings are in
        # use, from the copy.
        print(f"Copied {ours.name} (the stripe_api pool's one slot) into {home}.", flush=True)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default(STRIPE_API_POOL)


def _dev(args: argparse.Namespace) -> int:
    import subprocess

    os.environ.setdefault("DAGSTER_HOME", os.path.abspath(".dagster_home"))
    _prepare_dagster_home(Path(os.environ["DAGSTER_HOME"]))
    # `dagster dev` tells its users to use `dg dev` instead: ours run `stripe-assets dev`.
    command = [sys.executable, "-W", "ignore:Function `dev_command` is superseded", "-m",
               "dagster", "dev", "-w", "workspace.yaml", *args.dagster_args]
    home = Path(os.environ["DAGSTER_HOME"])
    if Path("dagster.yaml").exists() and (home / "dagster.yaml").exists() and \
            Path("dagster.yaml").read_bytes() == (home / "dagster.yaml").read_bytes():
        print(f"(dagster dev warns that ./dagster.yaml \"will not be used\": its settings are in"
              f" use, from the copy in {home}.)", flush=True)
    if os.environ.get("STRIPE_API_KEY"):
        return subprocess.call(command)
    from stripe_assets.local_sandbox import SANDBOX_KEY, running_sandbox

    every = settings.sandbox_activity_seconds()
    with running_sandbox(["--activity", str(every)]) as url:
        print(f"No STRIPE_API_KEY set: assets will read the local sandbox API at {url}.",
              flush=True)
        if every:
            print(f"Its account changes every ~{every:.0f}s (a refund, a customer update, ...; "
                  "STRIPE_SANDBOX_ACTIVITY_SECONDS=0 stops that): stripe_events_sensor "
                  "re-loads what each change touches.", flush=True)
        env = {**os.environ, "STRIPE_API_BASE": url, "STRIPE_API_KEY": SANDBOX_KEY,
               "STRIPE_REQUESTS_PER_SECOND": os.environ.get("STRIPE_REQUESTS_PER_SECOND", "500"),
               # Partitions from the sandbox's first day, not 2020: "Materialize all" in the UI
               # then offers the year that has data, not six of mostly empty days.
               "STRIPE_START_DATE": os.environ.get("STRIPE_START_DATE") or _sandbox_start_date()}
        try:
            return subprocess.call(command, env=env)
        except KeyboardInterrupt:
            return 0


def _sandbox_start_date() -> str:
    """First day of the account running_sandbox() serves (the sandbox's default history). Load
    and dev start partitions there when STRIPE_START_DATE is unset: partitions from 2020 would
    add six years of empty days, and Dagster logs two events per day and asset."""
    from stripe_assets.sandbox import SandboxConfig

    return datetime.fromtimestamp(SandboxConfig().span()[0], UTC).date().isoformat()


# Attempts of the one request made before loading: enough to ride out a blip, few enough that
# a wrong key or STRIPE_API_BASE is reported in seconds (the loads themselves retry for longer).
CHECK_ATTEMPTS = 3


def _check_stripe(endpoint: str, db: Path) -> None:
    """Fail with one message, before any run, on a key or server that cannot work, or on a
    file that holds another source's data."""
    from stripe_assets.resources import stripe_client
    from stripe_assets.stripe_client import StripeClientError

    client = stripe_client(max_attempts=CHECK_ATTEMPTS).process_config_and_initialize()
    _check_data_source(db, client.data_source)
    try:
        client.check_access(endpoint)
    except StripeClientError as exc:
        raise SettingsError(str(exc)) from None


def _check_data_source(db: Path, source: str) -> None:
    """The IO manager refuses to write one source's objects into another's file; say so before
    fetching anything rather than after the first asset's whole fetch."""
    import duckdb

    from stripe_assets.database import open_database
    from stripe_assets.io_manager.data_source import mismatch_message, recorded_source

    if not db.exists():
        return
    try:
        with open_database(db, read_only=True) as connection:
            recorded = recorded_source(connection)
    except duckdb.Error:
        return  # held by another process: the write checks it, inside its transaction
    if recorded is not None and recorded != source:
        raise SettingsError(mismatch_message(recorded, source, str(db)))


def _selection(select: str | None) -> list[dg.AssetsDefinition]:
    """The assets --select names, in dependency order (all without it). An asset can be named
    as `charges`, or as the CLI prints it (`stripe/charges`), or as its table (`stripe.charges`)."""
    from stripe_assets.assets import all_assets

    assets = list(all_assets)
    if select is None:
        return assets
    names = [name.strip() for name in select.split(",") if name.strip()]
    if not names:
        raise SettingsError(f"--select {select!r} names no asset: give names separated by"
                            " commas, e.g. --select charges,refunds.")
    by_name = {alias: a for a in assets
               for alias in (a.key.path[-1], "/".join(a.key.path), ".".join(a.key.path))}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise SettingsError(
            f"--select names unknown assets: {', '.join(sorted(unknown))}. Known: "
            + ", ".join(a.key.path[-1] for a in assets)
        )
    chosen = {by_name[name].key for name in names}
    return [a for a in assets if a.key in chosen]


def _check_upstream_tables(assets: list[dg.AssetsDefinition], db: Path) -> None:
    """Fail before fetching anything when a selected asset reads a table that is in neither the
    selection nor the file, naming every such table at once."""
    import duckdb

    from stripe_assets.database import open_database
    from stripe_assets.io_manager.schema import table_exists

    selected = {a.key for a in assets}
    upstream = sorted({dep for a in assets for dep in a.asset_deps.get(a.key, set())
                       if dep not in selected}, key=lambda key: key.to_user_string())
    if not upstream:
        return
    missing = upstream
    if db.exists():
        try:
            with open_database(db, read_only=True) as connection:
                missing = [key for key in upstream
                           if not table_exists(connection, key.path[0], key.path[-1])]
        except duckdb.Error:
            return  # another process has it open: each run's input load names what is missing
    if missing:
        tables = ", ".join(".".join(key.path) for key in missing)
        names = ",".join(key.path[-1] for key in missing)
        raise SettingsError(
            f"the selected assets read {tables}, which {'is' if len(missing) == 1 else 'are'}"
            f" not in {db} yet: add {names} to --select, or load without --select."
        )


def _absolute_dagster_home() -> None:
    """Dagster wants DAGSTER_HOME absolute and existing; `DAGSTER_HOME=.dagster_home` is what
    people type, so make it so rather than fail with a traceback."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return
    path = Path(home).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"DAGSTER_HOME={home}: cannot create {path} ({exc.strerror}). Point"
                            " DAGSTER_HOME at a directory you can write, or unset it.") from None
    os.environ["DAGSTER_HOME"] = str(path)


def _load_with_env(
    assets: list[dg.AssetsDefinition], start: date, end: date, source: str
) -> int:
    import dagster as dg

    from stripe_assets.assets import all_assets
    from stripe_assets.load import AssetOutcome, load_assets
    from stripe_assets.resources import build_resources

    endpoints = [a.key.path[-1] for a in assets if a.key.path[0] == "stripe"]
    db = settings.db_path()
    if endpoints:
        _check_stripe(endpoints[0], db)
    print(f"Loading {start} .. {end} from {source} into {db}", flush=True)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else \
        dg.DagsterInstance.ephemeral()
    began = time.monotonic()

    def report(o: AssetOutcome) -> None:
        if o.ok:
            rows = f"{o.rows:>9,} rows" if o.rows is not None else " " * 14  # written
            print(f"  ok    {o.name:<28}{rows} {o.requests:>7,} requests {o.retries:>4} retries"
                  f" {o.seconds:>7.1f}s", flush=True)
        else:
            print(f"  FAIL  {o.name:<28}{o.error}", flush=True)
        for warning in o.warnings:
            print(f"        warning: {warning}", flush=True)

    with instance:
        outcomes = load_assets(assets, build_resources(), instance, start, end, report,
                               graph=all_assets)
    ok = [o for o in outcomes if o.ok]
    print(
        f"{len(ok)}/{len(outcomes)} assets loaded in {time.monotonic() - began:.1f}s: "
        f"{sum(o.rows or 0 for o in ok):,} rows written, "
        f"{sum(o.requests for o in outcomes):,} requests, "
        f"{sum(o.retries for o in outcomes)} retries.",
        flush=True,
    )
    if start == settings.start_date() and len(assets) == len(all_assets) \
            and len(ok) == len(outcomes):
        # Every table of the account loaded from the first partition: it starts at the oldest.
        from stripe_assets.start_date_hint import oldest_day, start_date_hint

        loaded = [(o.key.path[0], o.key.path[-1]) for o in ok if o.key.path[0] == "stripe"]
        hint = start_date_hint(start, oldest_day(db, loaded))
        if hint:
            print(hint, flush=True)
    return 0 if len(ok) == len(outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
