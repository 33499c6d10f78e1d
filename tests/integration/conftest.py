"""Fixtures that start real Ray runtimes and always stop them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agents import ScriptedModel

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """A local Ray runtime on 127.0.0.1 for one test module, shut down even when tests fail.

    Module scope, not session: a process joins one Ray cluster at a time, and
    ``test_team_cluster.py`` joins a multi-node cluster of its own. Starting Ray once per
    module costs a few seconds and keeps every module runnable alone and in any order.
    """
    import ray

    # "local": a bare ray.init() joins any Ray already running on this (shared) machine.
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"COLONY_EMBEDDER": "hash"}},
    )
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def script() -> Any:
    """``script(steps)``: a :class:`ScriptedModel` (it pickles, so it can go to an actor)."""
    return ScriptedModel
