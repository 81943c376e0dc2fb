"""The jobs people pick in the UI: load everything, or refresh one endpoint."""

from stripe_assets.definitions import defs
from stripe_assets_tests.test_definitions import PARTITIONED, RAW


def _asset_keys(job_name: str) -> set[str]:
    job = defs.get_repository_def().get_job(job_name)
    return {k.to_user_string() for k in job.asset_layer.executable_asset_keys}


def test_load_everything_materializes_every_asset():
    everything = {a.key.to_user_string() for a in defs.assets or []}  # type: ignore[union-attr]
    assert _asset_keys("load_everything") == everything


def test_each_stripe_endpoint_has_a_refresh_job_of_its_own_table_and_checks():
    repo = defs.get_repository_def()
    for name in RAW:  # written out in the tests, so a table dropped from the jobs fails here
        job = repo.get_job(f"refresh_{name}")
        assert _asset_keys(job.name) == {f"stripe/{name}"}
        # Day tables are refreshed for chosen days: the launchpad offers their partitions.
        assert (job.partitions_def is not None) == (name in PARTITIONED), name
        assert f"stripe.{name}" in (job.description or "")
        checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys
                  if key.asset_key.path == ["stripe", name]}
        assert {"id_is_unique", "livemode_is_consistent"} <= checks
