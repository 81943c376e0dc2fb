"""The code location as `dagster dev` and the daemon see it: loaded into a workspace over an
instance, so that sensor and schedule states are the instance's, not just attributes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.scheduler.instigation import InstigatorState
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def code_location(instance: dg.DagsterInstance) -> Iterator[RemoteRepository]:
    origin = LoadableTargetOrigin(executable_path=sys.executable,
                                  module_name="stripe_assets.definitions",
                                  working_directory=str(ROOT))
    with in_process_test_workspace(instance, origin) as workspace:
        entry = next(iter(workspace.get_code_location_entries().values()))
        assert entry.code_location is not None, entry.load_error
        yield next(iter(entry.code_location.get_repositories().values()))


def current_state(instance: dg.DagsterInstance, instigator) -> InstigatorState:
    """What the daemon and the UI use: the stored state, or the default declared in code."""
    stored = instance.get_instigator_state(instigator.get_remote_origin_id(),
                                           instigator.selector_id)
    state: InstigatorState = instigator.get_current_instigator_state(stored)
    return state
