from setuptools import find_packages, setup

# dagster-duckdb 0.29.27 pins dagster==1.13.27 exactly, so the dagster family moves together.
DAGSTER = "1.13.27"
DAGSTER_LIBS = "0.29.27"

setup(
    name="stripe-assets",
    version="0.1.0",
    description="Stripe payments data loaded into DuckDB as Dagster software-defined assets.",
    packages=find_packages(exclude=["stripe_assets_tests"]),
    python_requires=">=3.11",
    install_requires=[
        f"dagster=={DAGSTER}",
        f"dagster-webserver=={DAGSTER}",
        f"dagster-dg-cli=={DAGSTER}",  # the `dg` command: dg dev, dg check defs, dg list defs
        f"dagster-duckdb=={DAGSTER_LIBS}",
        "pandas>=2.2,<3",
        "requests>=2.32,<3",
        "python-dotenv>=1.0",  # reads .env for the CLI, as dagster dev does
        # Reads each list page's cursor and count lazily, ~10x faster than json.loads builds
        # dicts the loader throws away (stripe_client/page.py).
        "pysimdjson>=6,<8",
    ],
    extras_require={
        "dev": [
            # The stock IO manager, only so the tests can prove the defects ours fixes.
            f"dagster-duckdb-pandas=={DAGSTER_LIBS}",
            "pytest>=8",
            "pytest-timeout>=2.3",
            # `make test` runs the suite on two workers: it spends half its time waiting on
            # subprocesses and servers, and one of two cores sat idle (pytest 17.7 -> 11-12.5 min).
            "pytest-xdist>=3.6",
            "hypothesis>=6.100",
            "stripe>=12",
            "ruff>=0.8",
            "mypy>=1.13",
            "types-requests",
            "pandas-stubs",
            # Drives Debian's chromium (not its own browser build) in the UI tests.
            "playwright>=1.50",
        ],
    },
    entry_points={"console_scripts": ["stripe-assets=stripe_assets.cli:main"]},
)
