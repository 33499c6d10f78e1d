"""The team's memory of its own runs: G-Memory's insight / query / interaction hierarchy.

Before a run, insights distilled from earlier similar tasks are recalled, most useful first.
After it, the trajectory goes to the interaction tier, the task joins the query graph (linked
to the trajectory and to the insights it used), each insight used gains or loses utility by
the outcome (MemRL-style), and a successful run distils a new insight.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from memory import (
    Edge,
    EdgeType,
    MemoryService,
    Namespace,
    NewMemory,
    NodeKind,
    Principal,
    ScoredMemory,
    Tier,
)
from memory.errors import VersionConflictError
from orchestrator._state import AgentStep

__all__ = ["InsightMemory", "Outcome", "tool_recipe"]

Distiller = Callable[[str, Sequence[AgentStep], bool], str | None]


@dataclass(frozen=True)
class Outcome:
    """What the team learned from one run."""

    success: bool
    trajectory_id: str
    task_node: str
    insights_used: tuple[str, ...]
    new_insight: str | None


def _call(call_args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in call_args.items())


def tool_recipe(task: str, steps: Sequence[AgentStep], success: bool) -> str | None:
    """Default distiller: what the tools did, as a lesson for similar tasks (no model needed).

    A successful run yields the tool calls that worked; any run yields the tools that failed
    ("did not help"). Returns None when no tool was called: there is nothing reusable to say.
    """
    worked, failed = [], []
    for step in steps:
        for use in step.tools_used:
            if use.ok and success:
                worked.append(f"{step.agent} called {use.name}({_call(use.arguments)})")
            elif not use.ok:
                failed.append(use.name)
    parts = []
    if worked:
        parts.append("; then ".join(dict.fromkeys(worked)) + " and it worked")
    if failed:
        parts.append(", ".join(dict.fromkeys(failed)) + " did not help")
    if not parts:
        return None
    return f"For a task like {task!r}: " + "; ".join(parts) + "."


def trajectory_text(task: str, steps: Sequence[AgentStep], success: bool) -> str:
    """A readable record of a run for the interaction tier."""
    lines = [f"Task: {task}", f"Outcome: {'success' if success else 'failure'}"]
    for step in steps:
        tools = ", ".join(
            f"{u.name}({_call(u.arguments)}){'' if u.ok else ' failed'}" for u in step.tools_used
        )
        lines.append(
            f"[{step.agent}] {step.status} in {step.steps} step(s)"
            + (f"; tools: {tools}" if tools else "")
            + f"; output: {step.output[:500]}"
        )
    return "\n".join(lines)


class InsightMemory:
    """Recall and learning of insights for one team, on a memory service.

    Args:
        memory: The shared memory (in-process service or a Ray client).
        team: The team's name; everything lives under ``("team", team, ...)``.
        k: Most insights recalled for a task.
        min_similarity: Least embedding similarity between task and insight to recall it.
        distill: Turns a run (task, steps, success) into an insight text (None: nothing to keep).
    """

    def __init__(
        self,
        memory: MemoryService,
        team: str,
        *,
        k: int = 3,
        min_similarity: float = 0.45,
        distill: Distiller = tool_recipe,
    ) -> None:
        self.memory = memory
        self.team = team
        self.k = k
        self.min_similarity = min_similarity
        self.distill = distill
        self.principal = Principal.user("orchestrator", teams=(team,))

    def namespace(self, part: str) -> Namespace:
        """``("team", team, part)``."""
        return ("team", self.team, part)

    def _insights(self, query: str, *, k: int) -> list[ScoredMemory]:
        return self.memory.search(
            query,
            principal=self.principal,
            namespace_prefix=self.namespace("insights"),
            tiers=[Tier.INSIGHT],
            k=k,
        )

    def recall(self, task: str) -> list[tuple[str, str]]:
        """Insights for ``task``: similar enough, ranked by similarity plus learned utility."""
        hits = self._insights(task, k=max(10, 3 * self.k))
        scored = []
        for hit in hits:
            similarity = hit.components.get("vector", 0.0)
            if similarity < self.min_similarity or hit.record.utility <= -2:
                continue
            # Utility moves the ranking, bounded so one lucky run cannot dominate relevance.
            scored.append((similarity + 0.1 * math.tanh(hit.record.utility), hit.record))
        scored.sort(key=lambda pair: -pair[0])
        return [(record.id, record.text) for _, record in scored[: self.k]]

    def learn(
        self,
        task: str,
        steps: Sequence[AgentStep],
        *,
        success: bool,
        insights_used: Sequence[str],
        thread_id: str,
    ) -> Outcome:
        """Record the run and credit or blame the insights it used."""
        trajectory = self.memory.add(
            trajectory_text(task, steps, success),
            principal=self.principal,
            namespace=self.namespace("runs"),
            tier=Tier.INTERACTION,
            provenance=list(insights_used),
            metadata={"thread_id": thread_id, "success": success, "task": task},
        )
        task_node = self.memory.add_task(
            task,
            principal=self.principal,
            namespace=self.namespace("tasks"),
            metadata={"thread_id": thread_id, "success": success},
        )
        edges = [
            Edge(
                task_node,
                trajectory.id,
                EdgeType.RELATES_TO,
                src_kind=NodeKind.TASK,
                namespace=self.namespace("tasks"),
            )
        ]
        for insight_id in insights_used:
            self._credit(insight_id, 1.0 if success else -1.0)
            edges.append(
                Edge(
                    task_node,
                    insight_id,
                    EdgeType.RELATES_TO,
                    src_kind=NodeKind.TASK,
                    weight=1.0 if success else -1.0,
                    namespace=self.namespace("tasks"),
                )
            )
        new_insight = None
        text = self.distill(task, steps, success)
        if text:
            new_insight = self._keep(text, task, trajectory.id, 1.0 if success else 0.0)
        self.memory.add_edges(edges, principal=self.principal)
        return Outcome(success, trajectory.id, task_node, tuple(insights_used), new_insight)

    def _credit(self, insight_id: str, delta: float) -> None:
        for _ in range(3):  # compare-and-set; another run may be crediting it too
            record = self.memory.get(insight_id, principal=self.principal)
            try:
                self.memory.update(
                    insight_id,
                    principal=self.principal,
                    expected_version=record.version,
                    utility=record.utility + delta,
                )
                return
            except VersionConflictError:
                continue

    def _keep(self, text: str, task: str, trajectory_id: str, utility: float) -> str:
        """Store ``text`` as an insight, or credit the identical one already kept.

        The insight is embedded as the task it came from, so recall compares tasks with tasks
        (G-Memory's query graph: similar queries lead to their insights).
        """
        same = self._insights(text, k=1)
        if same and same[0].record.text == text:
            self._credit(same[0].record.id, utility)
            return same[0].record.id
        insight = NewMemory(
            namespace=self.namespace("insights"),
            text=text,
            tier=Tier.INSIGHT,
            provenance=(trajectory_id,),
            metadata={"task": task},
            utility=utility,
            embedding=self.memory.embed([task])[0],
        )
        return self.memory.add_many([insight], principal=self.principal)[0].id
