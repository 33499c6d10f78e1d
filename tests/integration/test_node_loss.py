"""A worker node removed from a 3-node cluster mid-run: the run completes on the others."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import cast

import pytest
import ray
import ray.cloudpickle
from ray.cluster_utils import Cluster

from agents import Agent, ChatResponse, Message, ToolSpec, Usage
from memory import Principal
from orchestrator import Placement, RunResult, Team
from orchestrator._runtime import RayRuntime

pytestmark = pytest.mark.integration

# The slow model goes to Ray workers, which cannot import a test module.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


class Slow:
    """Answers ``done`` after ``seconds``: long enough to lose its node while it thinks."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def chat(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> ChatResponse:
        time.sleep(self.seconds)
        return ChatResponse(Message("assistant", "done"), Usage(1, 1))


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A head (the memory actor) and two workers offering ``worker``; node deaths are noticed
    within ~2 s (health checks every 0.5 s). Stopped even when the test fails."""
    assert not ray.is_initialized(), "another fixture left Ray connected; it must stop it"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COLONY_EMBEDDER", "hash")
        nodes = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 1,
                "resources": {"node_head": 10},
                "include_dashboard": False,
                "_system_config": {
                    "health_check_period_ms": 500,
                    "health_check_failure_threshold": 3,
                },
            },
        )
        try:
            for _ in range(2):
                nodes.add_node(num_cpus=1, resources={"worker": 10})
            nodes.wait_for_nodes()
            ray.init(
                address=nodes.address,
                log_to_driver=False,
                runtime_env={"env_vars": {"COLONY_EMBEDDER": "hash"}},
            )
            yield nodes
        finally:
            ray.shutdown()
            nodes.shutdown()


def test_a_run_survives_losing_the_node_its_agent_runs_on(cluster: Cluster, tmp_path: Path) -> None:
    notes = ("team", "loss", "notes")
    team = Team(
        "loss",
        [Agent("thinker", "Think.", Slow(3.0), writes=notes)],
        memory=tmp_path / "loss.duckdb",
        checkpoints=":memory:",
        placement={"thinker": Placement(resources={"worker": 1})},
        memory_placement=Placement(resources={"node_head": 1}),
    )
    with team.session(runtime="ray", address=cluster.address) as session:
        actor = cast(RayRuntime, session.runtime).actors["thinker"]
        first = ray.get(actor.node_id.remote())
        results: list[RunResult | BaseException] = []

        def run() -> None:
            try:
                results.append(session.run("think it over"))
            except BaseException as exc:  # reported below
                results.append(exc)

        runner = threading.Thread(target=run)
        runner.start()
        time.sleep(1.0)  # the model is thinking, on the first node
        (lost,) = [n for n in cluster.worker_nodes if n.node_id == first]
        cluster.remove_node(lost)
        runner.join(timeout=120)
        assert not runner.is_alive(), "the run did not finish within 120 s of losing its node"
        (result,) = results
        assert isinstance(result, RunResult), result
        assert result.status == "done" and result.output == "done"
        now = ray.get(actor.node_id.remote())
        assert session.memory is not None
        stored = session.memory.search("done", principal=Principal.admin(), k=10)
    assert now != first  # the agent's actor was restarted on the other worker
    assert [h.record.text for h in stored if h.record.namespace == notes] == ["done"]
