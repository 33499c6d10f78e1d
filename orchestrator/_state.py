"""The graph state every team shares.

The state holds :class:`~agents.AgentStep` records as plain dicts so checkpoints stay
JSON-like and readable by any LangGraph checkpointer.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from agents import AgentRequest, AgentStep, ToolUse, step_from_result

__all__ = ["AgentRequest", "AgentStep", "TeamState", "ToolUse", "step_from_result"]

# Most earlier steps an agent is shown (newest last); older ones stay in the state.
_SHOWN_STEPS = 64


class TeamState(TypedDict, total=False):
    """The state of a team run, as LangGraph holds and checkpoints it.

    Attributes:
        task: The task the team was given.
        subtask: For a fan-out branch, the part of the task this branch works on.
        context: ``[memory id, text]`` pairs recalled for the whole team before the run.
        steps: Every :class:`AgentStep` as a dict, in completion order (appended, never edited).
        feedback: Human input given when the run was resumed from an interrupt.
        next: The agent a router chose to run next (``None``: finish).
        turns: How many routing decisions were made (bounds supervisor and hand-off loops).
    """

    task: str
    subtask: str
    context: list[list[str]]
    steps: Annotated[list[dict[str, Any]], operator.add]
    feedback: Annotated[list[str], operator.add]
    next: str | None
    turns: int


def request_for(
    state: TeamState, agent: str, *, handoffs: list[str], write_key: str | None = None
) -> AgentRequest:
    """The request an agent node sends: its task and a bounded view of the team's state.

    The agent is shown what happened since its own last step (everything, the first time),
    at most the newest ``_SHOWN_STEPS`` steps; its working memory holds what it did before.
    """
    view: dict[str, Any] = {}
    steps = state.get("steps", [])
    own = [i for i, s in enumerate(steps) if s["agent"] == agent]
    if own:
        steps = steps[own[-1] + 1 :]
    if steps:
        view["previous"] = [
            {"agent": s["agent"], "output": s["output"]} for s in steps[-_SHOWN_STEPS:]
        ]
    if state.get("feedback"):
        view["human_feedback"] = list(state["feedback"])
    task = state.get("subtask") or state["task"]
    if state.get("subtask"):
        view["team_task"] = state["task"]
    context = [(str(i), str(t)) for i, t in state.get("context", [])]
    return AgentRequest(
        task=task, state=view, context=context, handoffs=handoffs, write_key=write_key
    )
