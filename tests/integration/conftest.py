"""Fixtures that start real Ray runtimes and always stop them."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from agents import ScriptedModel, ScriptStep

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
    """``script(steps)``: a :class:`ScriptedModel` that can be sent to a Ray actor.

    ScriptedModel holds a ``threading.Lock``, which cloudpickle cannot pickle, so a team of
    ScriptedModels cannot start on the ray runtime (a bug in agents/_models.py, reported).
    This subclass drops the lock from its pickle. It is defined inside the fixture so that
    cloudpickle sends it by value: Ray workers cannot import a conftest module.
    """

    class PicklableScript(ScriptedModel):
        def __getstate__(self) -> dict[str, Any]:
            return {k: v for k, v in self.__dict__.items() if k != "_lock"}

        def __setstate__(self, state: dict[str, Any]) -> None:
            self.__dict__.update(state)
            self._lock = threading.Lock()

    def make(steps: Sequence[ScriptStep]) -> ScriptedModel:
        return PicklableScript(steps)

    return make
