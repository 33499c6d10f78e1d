"""The same team on a multi-node Ray cluster.

    python examples/cluster_team.py                      # starts a 3-node cluster on 127.0.0.1
    python examples/cluster_team.py --address HOST:PORT  # joins a running cluster

Two researchers look facts up in parallel and keep them in the team's shared memory; a writer
answers from that memory. Each agent is a Ray actor pinned to a node (Ray labels every node
with its id), and the memory actor runs on this script's node, where its DuckDB file is. The
models are offline stand-ins, so no LLM is needed; give the agents real models for real work.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents import Agent, ChatResponse, FunctionModel, Message, ToolCall, ToolSpec
from orchestrator import Parallel, Placement, Team

TEAM = "atlas"
NOTES = ("team", TEAM, "notes")
FACTS = {
    "ray": "Ray runs Python actors on every node of a cluster.",
    "duckdb": "DuckDB keeps the team's memory in one file.",
}


def lookup(topic: str) -> str:
    """Look a topic up in the reference notes.

    Args:
        topic: What to look up.
    """
    return FACTS.get(topic.lower(), f"nothing known about {topic}")


def offline(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> ChatResponse | str:
    """A stand-in LLM: call each offered tool with the task, then report what the tools
    returned, else what the shared memory held."""
    last = messages[-1]
    if tools and last.role == "user":
        task = last.content.split("\n\n")[0]
        calls = [ToolCall(f"call-{t.name}", t.name, {"topic": task}) for t in tools]
        return ChatResponse(Message("assistant", "", calls))
    seen = [m.content for m in messages if m.role == "tool"]
    if not seen:  # "- [memory id] text" lines under "Shared memory:"
        memory = [m.content for m in messages if m.content.startswith("Shared memory:")]
        seen = [line.split("] ", 1)[1] for text in memory for line in text.splitlines()[1:]]
    return " ".join(sorted(seen))


def build_team(memory: Path, nodes: Sequence[str], here: str) -> Team:
    """Three agents, one per node of ``nodes`` in turn; the memory actor on node ``here``."""

    def on(node: str) -> Placement:
        return Placement(labels={"ray.io/node-id": node})

    model = FunctionModel(offline)
    agents = [
        Agent("ray_facts", "Look the topic up.", model, [lookup], writes=NOTES),
        Agent("duckdb_facts", "Look the topic up.", model, [lookup], writes=NOTES),
        Agent("writer", "Answer from the team's notes.", model, reads=(NOTES,)),
    ]
    topics = [("ray_facts", "ray"), ("duckdb_facts", "duckdb")]
    return Team(
        TEAM,
        agents,
        flow=Parallel(merge="writer", split=lambda _: topics),
        memory=memory,
        checkpoints=memory.with_name("checkpoints.sqlite"),
        placement={a.name: on(node) for a, node in zip(agents, itertools.cycle(nodes))},
        memory_placement=on(here),
    )


def start_cluster() -> Any:
    """A 3-node cluster in this machine (head + 2 workers), every process on 127.0.0.1."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
    except BaseException:
        cluster.shutdown()
        raise
    return cluster


def main(argv: Sequence[str] | None = None) -> int:
    """Run the team on a cluster and print where each agent ran; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="a running Ray cluster (default: start one here)")
    parser.add_argument(
        "--embedder",
        choices=["hash", "minilm"],
        default="hash",
        help="the memory's embedder: hash (fast, offline) or minilm (semantic, slower to load)",
    )
    args = parser.parse_args(argv)
    # Before ray is imported: every Ray process binds 127.0.0.1, no telemetry.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if args.address is None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    cluster = start_cluster() if args.address is None else None
    address = args.address if cluster is None else cluster.address
    try:
        ray.init(
            address=address,
            log_to_driver=False,
            runtime_env={"env_vars": {"COLONY_EMBEDDER": args.embedder}},
        )
        here = ray.get_runtime_context().get_node_id()
        others = [n["NodeID"] for n in ray.nodes() if n["Alive"] and n["NodeID"] != here]
        print(f"cluster at {address}: {len(others) + 1} node(s); this script is on {here[:8]}")
        with tempfile.TemporaryDirectory() as tmp:
            team = build_team(Path(tmp) / "memory.duckdb", [*others, here], here)
            with team.session(runtime="ray", address=address) as session:
                result = session.run("What runs a Colony team?")
                runtime: Any = session.runtime  # the ray runtime: one actor per agent
                actors = runtime.actors
                nodes = ray.get([actors[a.name].node_id.remote() for a in team.agents])
        for agent, node in zip(team.agent_names, nodes, strict=True):
            print(f"{agent:<13} ran on node {node[:8]}")
        print(f"{'memory actor':<13} pinned to node {here[:8]}")
        print(f"result: {result.output}")
    finally:
        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
    return 0 if result.status == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
