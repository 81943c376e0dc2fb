"""The Dagster UI's view of the project, through the real server: `dagster dev` in a child
process, everything materialized as a person does it from the UI ("Materialize all", a range
of days, "Launch backfill"), then read back through the GraphQL API the UI itself reads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stripe_assets_tests.test_definitions import ANALYTICS, CHECKS, EXPECTED_EDGES, RAW
from stripe_assets_tests.test_definitions import PARTITIONED as DAY_TABLES
from stripe_assets_tests.ui_support import LoadedUI

# Whichever UI test runs first also starts dagster dev and loads everything (about 80 s on an
# idle machine, minutes on a busy one): allow for it beyond the suite's 300 s per test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SCHEMA = "... on TableSchemaMetadataEntry { schema { columns { name type description } } }"
ASSET_GRAPH = f"""
{{ assetNodes {{
    assetKey {{ path }} groupName kinds description isPartitioned
    owners {{ ... on TeamAssetOwner {{ team }} }}
    dependencyKeys {{ path }}
    metadataEntries {{ label {SCHEMA} }}
}} }}
"""
MATERIALIZATIONS = f"""
{{ assetNodes {{
    assetKey {{ path }}
    assetMaterializations(limit: 1) {{
      runId
      metadataEntries {{
        label __typename
        ... on IntMetadataEntry {{ intValue }}
        ... on FloatMetadataEntry {{ floatValue }}
        ... on TextMetadataEntry {{ text }}
        ... on MarkdownMetadataEntry {{ mdStr }}
        ... on TableMetadataEntry {{ table {{ records schema {{ columns {{ name }} }} }} }}
        {SCHEMA}
      }}
    }}
}} }}
"""
CHECK_RESULTS = """
{ assetNodes {
    assetKey { path }
    assetChecksOrError { ... on AssetChecks { checks {
      name
      executionForLatestMaterialization { status evaluation { success severity } }
    } } }
} }
"""
JOBS = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name description } } } } }
"""


def _key(node: dict[str, Any]) -> str:
    return "/".join(node["assetKey"]["path"])


def _nodes(loaded: LoadedUI, query: str) -> dict[str, dict[str, Any]]:
    return {_key(n): n for n in loaded.ui.graphql(query)["assetNodes"]}


def _latest_metadata(node: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (latest,) = node["assetMaterializations"]
    return {entry["label"]: entry for entry in latest["metadataEntries"]}


def test_materialize_all_from_the_ui_loads_every_asset_in_runs_that_succeed(loaded_dagster_ui):
    backfill = loaded_dagster_ui.backfill
    assert backfill["status"] in ("REQUESTED", "COMPLETED_SUCCESS"), backfill
    assert backfill["runs"] and {r["status"] for r in backfill["runs"]} == {"SUCCESS"}
    # One run fetches every day of the range for all day tables (single-run backfill policy).
    ranges = [{t["key"]: t["value"] for t in r["tags"]} for r in backfill["runs"]]
    assert {"dagster/asset_partition_range_start": loaded_dagster_ui.first.isoformat(),
            "dagster/asset_partition_range_end": loaded_dagster_ui.last.isoformat()}.items() <= \
        next(tags for tags in ranges if "dagster/asset_partition_range_start" in tags).items()
    assert all(n["assetMaterializations"] for n in _nodes(loaded_dagster_ui,
                                                           MATERIALIZATIONS).values())


def test_the_asset_graph_has_every_asset_its_lineage_groups_kinds_and_owners(loaded_dagster_ui):
    nodes = _nodes(loaded_dagster_ui, ASSET_GRAPH)
    assert set(nodes) == {f"stripe/{n}" for n in RAW} | {f"analytics/{n}" for n in ANALYTICS}
    edges = {("/".join(d["path"]), key) for key, n in nodes.items() for d in n["dependencyKeys"]}
    assert edges == EXPECTED_EDGES
    for key, node in nodes.items():
        group = key.split("/")[0]
        assert node["groupName"] == group
        assert "duckdb" in node["kinds"] and ("stripe" in node["kinds"]) == (group == "stripe")
        assert node["owners"] and all(o["team"] for o in node["owners"])
        assert len(node["description"]) > 80, key
        assert node["isPartitioned"] == (key.split("/")[1] in DAY_TABLES)


def test_declared_columns_are_the_columns_the_load_built(loaded_dagster_ui):
    """The schema shown before the first load is not a guess: every declared column exists
    after it with the same type, and the materialization keeps its description."""
    declared = _nodes(loaded_dagster_ui, ASSET_GRAPH)
    built = _nodes(loaded_dagster_ui, MATERIALIZATIONS)
    for key in declared:
        (entry,) = [e for e in declared[key]["metadataEntries"]
                    if e["label"] == "dagster/column_schema"]
        before = {c["name"]: c for c in entry["schema"]["columns"]}
        after = {c["name"]: c for c in
                 _latest_metadata(built[key])["dagster/column_schema"]["schema"]["columns"]}
        if key.startswith("analytics/"):
            assert list(after) == list(before), key  # exactly the SQL's columns
        for name, column in before.items():
            assert after[name]["type"] == column["type"], (key, name)
            assert after[name]["description"] == column["description"], (key, name)


def test_each_stripe_load_shows_rows_api_cost_version_window_and_a_preview(loaded_dagster_ui):
    nodes = _nodes(loaded_dagster_ui, MATERIALIZATIONS)
    for name in RAW:
        meta = _latest_metadata(nodes[f"stripe/{name}"])
        for label in ("rows_written", "dagster/row_count", "stripe_pages", "stripe_requests",
                      "stripe_retries", "stripe_429s", "stripe_seconds_waited", "preview"):
            assert label in meta, (name, label)
        assert meta["stripe_api_version"]["text"] == "2024-06-20"
        assert meta["dagster/row_count"]["intValue"] > 0, name
        assert meta["stripe_requests"]["intValue"] >= meta["stripe_pages"]["intValue"] > 0
        window = meta["created_window"]["text"]
        assert window.startswith("[") if name in DAY_TABLES else window.startswith("all"), name
        assert meta["preview"]["mdStr"].startswith("| id |"), name


def test_analytics_show_the_refund_rate_as_a_chart_and_payouts_as_a_table(loaded_dagster_ui):
    nodes = _nodes(loaded_dagster_ui, MATERIALIZATIONS)
    refunds = _latest_metadata(nodes["analytics/refund_rates"])
    chart = refunds["refund_rate_chart"]["mdStr"]
    assert "](data:image/svg+xml;base64," in chart
    assert len(chart) < 1000  # shown inline by the UI (the browser test sees it drawn)
    assert "| refund rate |" in refunds["refund_rate_table"]["mdStr"]
    assert 0 < refunds["refund_rate"]["floatValue"] < 1

    table = _latest_metadata(nodes["analytics/payout_summary"])["payouts_last_12_months"]
    records = [json.loads(r) for r in table["table"]["records"]]
    assert records and {c["name"] for c in table["table"]["schema"]["columns"]} == set(records[0])
    assert sum(r["payouts"] for r in records) > 0


def test_every_check_ran_on_the_load_and_no_error_check_failed(loaded_dagster_ui):
    results: dict[str, dict[str, Any]] = {}
    for key, node in _nodes(loaded_dagster_ui, CHECK_RESULTS).items():
        for check in node["assetChecksOrError"].get("checks", []):
            results.setdefault(key, {})[check["name"]] = check["executionForLatestMaterialization"]
    assert {key: set(checks) for key, checks in results.items()} == CHECKS
    for key, checks in results.items():
        for name, execution in checks.items():
            assert execution and execution["evaluation"], (key, name)
            evaluation = execution["evaluation"]
            if evaluation["severity"] == "ERROR":
                assert evaluation["success"], (key, name)
    # The whole history was loaded, so every refund's charge is there too.
    assert results["stripe/refunds"]["refund_charges_exist"]["evaluation"]["success"]


def test_the_job_list_offers_load_everything_and_a_refresh_per_endpoint(loaded_dagster_ui):
    (repository,) = loaded_dagster_ui.ui.graphql(JOBS)["repositoriesOrError"]["nodes"]
    jobs = {j["name"]: j["description"] for j in repository["jobs"]}
    assert {"load_everything", *(f"refresh_{n}" for n in RAW)} <= set(jobs)
    assert all(description for name, description in jobs.items() if not name.startswith("__"))
