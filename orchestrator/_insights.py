"""The team's memory of its own runs: G-Memory's insight / query / interaction hierarchy.

Before a run, insights distilled from earlier similar tasks are recalled, most useful first.
After it, the trajectory goes to the interaction tier, the task joins the query graph (linked
to the trajectory and to the insights it used), each insight used gains or loses utility by
the outcome (MemRL-style), and a successful run distils a new insight.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from memory import (
    Edge,
    EdgeType,
    MemoryService,
    Namespace,
    NewMemory,
    NewTask,
    NodeKind,
    Principal,
    ScoredMemory,
    Tier,
)
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
        """Record the run and credit or blame the insights it used, in one transaction.

        The trajectory, the task node, the credits, a new insight and the edges between
        them land together or not at all (on a memory actor, a retry after a crash cannot
        apply them twice: see :meth:`memory.RemoteMemory.write`).
        """
        trajectory = NewMemory(
            namespace=self.namespace("runs"),
            text=trajectory_text(task, steps, success),
            tier=Tier.INTERACTION,
            provenance=tuple(insights_used),
            metadata={"thread_id": thread_id, "success": success, "task": task},
            id=uuid.uuid4().hex,
        )
        task_node = NewTask(
            task,
            self.namespace("tasks"),
            {"thread_id": thread_id, "success": success},
            id=f"task:{uuid.uuid4().hex}",
        )
        assert trajectory.id is not None and task_node.id is not None
        credits: dict[str, float] = {}
        edges = [self._task_edge(task_node.id, trajectory.id)]
        for insight_id in insights_used:
            credits[insight_id] = credits.get(insight_id, 0.0) + (1.0 if success else -1.0)
            edges.append(self._task_edge(task_node.id, insight_id, 1.0 if success else -1.0))
        memories = [trajectory]
        new_insight = None
        text = self.distill(task, steps, success)
        if text:
            same = self._insights(text, k=1)
            if same and same[0].record.text == text:
                # The identical insight is kept once and gains the run's credit.
                new_insight = same[0].record.id
                credits[new_insight] = credits.get(new_insight, 0.0) + (1.0 if success else 0.0)
            else:
                insight = self._insight(text, task, trajectory.id, 1.0 if success else 0.0)
                new_insight = insight.id
                memories.append(insight)
        self.memory.write(
            principal=self.principal,
            memories=memories,
            credits={i: delta for i, delta in credits.items() if delta},
            tasks=[task_node],
            edges=edges,
        )
        return Outcome(success, trajectory.id, task_node.id, tuple(insights_used), new_insight)

    def _task_edge(self, task_node: str, dst: str, weight: float = 1.0) -> Edge:
        return Edge(
            task_node,
            dst,
            EdgeType.RELATES_TO,
            src_kind=NodeKind.TASK,
            weight=weight,
            namespace=self.namespace("tasks"),
        )

    def _insight(self, text: str, task: str, trajectory_id: str, utility: float) -> NewMemory:
        """``text`` as a new insight.

        It is embedded as the task it came from, so recall compares tasks with tasks
        (G-Memory's query graph: similar queries lead to their insights).
        """
        return NewMemory(
            namespace=self.namespace("insights"),
            text=text,
            tier=Tier.INSIGHT,
            provenance=(trajectory_id,),
            metadata={"task": task},
            utility=utility,
            embedding=self.memory.embed([task])[0],
            id=uuid.uuid4().hex,
        )
