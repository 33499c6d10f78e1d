"""A team on a 3-node Ray cluster: agents and the memory actor go where the placement says."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import ray
import ray.cloudpickle
from ray.cluster_utils import Cluster

from agents import Agent
from orchestrator import Placement, Team
from telemetry import TraceStore, tracing

pytestmark = pytest.mark.integration

# The editor's reply function goes to a Ray worker, which cannot import a test module.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

TEAM = "spread"
NOTES = ("team", TEAM, "notes")
FACT = "fact: the team spans three nodes"


@dataclass(frozen=True)
class Nodes:
    address: str
    ids: dict[str, str]  # node id by name: "head", "a", "b"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Nodes]:
    """Head + 2 workers on 127.0.0.1, connected, and stopped even when tests fail.

    Each node advertises a custom resource (``node_<name>``) and a label (``colony-node``),
    so placement can be tested both ways. ``local_ray`` is module-scoped, so no other Ray is
    connected while this module runs.
    """
    assert not ray.is_initialized(), "another fixture left Ray connected; it must stop it"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("COLONY_EMBEDDER", "hash")  # the driver's side; workers get runtime_env
        nodes = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 1,
                "resources": {"node_head": 10},
                "labels": {"colony-node": "head"},
                "include_dashboard": False,
            },
        )
        try:
            ids = {"head": nodes.head_node.node_id}
            for name in ("a", "b"):
                node = nodes.add_node(
                    num_cpus=1, resources={f"node_{name}": 10}, labels={"colony-node": name}
                )
                ids[name] = node.node_id
            nodes.wait_for_nodes()
            ray.init(
                address=nodes.address,
                log_to_driver=False,
                runtime_env={"env_vars": {"COLONY_EMBEDDER": "hash"}},
            )
            yield Nodes(nodes.address, ids)
        finally:
            ray.shutdown()
            nodes.shutdown()


def spread(scout: Agent, editor: Agent, memory: Path) -> Team:
    """Scout on node a, editor on node b, the memory actor on the head."""
    return Team(
        TEAM,
        [scout, editor],
        memory=memory,
        checkpoints=":memory:",
        placement={
            "scout": Placement(resources={"node_a": 1}),  # by custom resource
            "editor": Placement(labels={"colony-node": "b"}),  # by node label
        },
        memory_placement=Placement(resources={"node_head": 1}),
    )


def test_agents_and_memory_run_where_placed(cluster: Nodes, script: Any, tmp_path: Path) -> None:
    scout = Agent("scout", "Keep facts.", script([FACT]), writes=NOTES)
    editor = Agent(
        "editor",
        "Answer from the team's notes.",
        script([lambda m: " / ".join(x.content for x in m if x.role == "system")]),
        reads=(NOTES,),
    )
    team = spread(scout, editor, tmp_path / "spread.duckdb")
    with team.session(runtime="ray", address=cluster.address) as session:
        result = session.run("what does the team span?")
        actors = session.runtime.actors
        where = ray.get(
            [
                actors["scout"].node_id.remote(),
                actors["editor"].node_id.remote(),
                session.memory.handle.__ray_call__.remote(
                    lambda _: ray.get_runtime_context().get_node_id()
                ),
            ]
        )
    assert where == [cluster.ids["a"], cluster.ids["b"], cluster.ids["head"]]
    written, read = result.steps
    assert result.status == "done" and written.output == FACT
    # The editor, on node b, read what the scout on node a wrote, through the head's actor.
    assert FACT in read.output and read.memories_used
    assert result.learned is not None and result.learned.success


def test_one_run_is_one_trace_across_the_nodes(cluster: Nodes, script: Any, tmp_path: Path) -> None:
    scout = Agent("scout", "Keep facts.", script([FACT]), writes=NOTES)
    editor = Agent("editor", "Answer.", script(["the team spans three nodes"]), reads=(NOTES,))
    team = spread(scout, editor, tmp_path / "traced.duckdb")
    traces = tmp_path / "traces.duckdb"
    with tracing(trace_store=traces), team.session(runtime="ray", address=cluster.address) as s:
        result = s.run("what does the team span?")
    assert result.status == "done"
    store = TraceStore(traces, read_only=True)
    rows = store.query(
        "SELECT trace_id, name, kind, node, resource->>'process.pid' FROM spans "
        "WHERE trace_id = (SELECT trace_id FROM spans WHERE run_id = ? AND parent_id IS NULL)",
        [result.thread_id],
    )
    everything = store.query("SELECT count(DISTINCT trace_id) FROM spans")[0][0]
    store.close()
    names = [name for _, name, *_ in rows]
    # The driver's spans, each agent's (recorded on its node), and the memory actor's.
    assert names.count("invoke_workflow spread") == 1
    inner = {name: node for _, name, kind, node, _ in rows if kind == "INTERNAL"}
    assert inner["invoke_agent scout"] == cluster.ids["a"]
    assert inner["invoke_agent editor"] == cluster.ids["b"]
    # The driver's side of each call to an agent's actor: a CLIENT span.
    client = sorted(name for _, name, kind, _, _ in rows if kind == "CLIENT" and "agent" in name)
    assert client == ["invoke_agent editor", "invoke_agent scout"]
    assert names.count("chat ScriptedModel") == 2
    memory_spans = [(name, node) for _, name, _, node, _ in rows if "_memory " in name]
    assert ("create_memory traced.duckdb", cluster.ids["head"]) in memory_spans
    assert len({pid for *_, pid in rows}) >= 3  # driver, agents' and memory actor's processes
    assert everything == 1
