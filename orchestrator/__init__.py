"""Colony orchestration: teams of agents compiled to LangGraph graphs, run locally or on Ray.

A :class:`Team` wires :class:`~agents.Agent` objects with a flow (:class:`Sequential`,
:class:`Parallel`, :class:`Supervisor`, :class:`Handoffs` or :class:`Custom`), shares a
memory service among them, checkpoints every step, and learns insights across runs. Errors
live in :mod:`orchestrator.errors`.

Each public name is imported when first read (:mod:`memory._lazy`): ``colony --help``
and the memory commands need none of LangGraph, Ray or torch.
"""

from typing import TYPE_CHECKING

from memory._lazy import lazy_exports

if TYPE_CHECKING:  # the names, for type checkers; at run time, _EXPORTS
    from orchestrator._checkpoint import DEFAULT_CHECKPOINTS, Checkpoints, open_checkpointer
    from orchestrator._flows import Custom, Handoffs, Parallel, RunView, Sequential, Supervisor
    from orchestrator._insights import InsightMemory, Outcome, tool_recipe
    from orchestrator._placement import Placement
    from orchestrator._runtime import init_ray
    from orchestrator._state import AgentRequest, AgentStep, TeamState, ToolUse
    from orchestrator._team import (
        AgentFinished,
        AgentStarted,
        RunResult,
        Team,
        TeamSession,
        default_retry,
    )

_EXPORTS = {
    "orchestrator._checkpoint": ("DEFAULT_CHECKPOINTS", "Checkpoints", "open_checkpointer"),
    "orchestrator._flows": (
        "Custom",
        "Handoffs",
        "Parallel",
        "RunView",
        "Sequential",
        "Supervisor",
    ),
    "orchestrator._insights": ("InsightMemory", "Outcome", "tool_recipe"),
    "orchestrator._placement": ("Placement",),
    "orchestrator._runtime": ("init_ray",),
    "orchestrator._state": ("AgentRequest", "AgentStep", "TeamState", "ToolUse"),
    "orchestrator._team": (
        "AgentFinished",
        "AgentStarted",
        "RunResult",
        "Team",
        "TeamSession",
        "default_retry",
    ),
}

__all__ = [
    "DEFAULT_CHECKPOINTS",
    "AgentFinished",
    "AgentRequest",
    "AgentStarted",
    "AgentStep",
    "Checkpoints",
    "Custom",
    "Handoffs",
    "InsightMemory",
    "Outcome",
    "Parallel",
    "Placement",
    "RunResult",
    "RunView",
    "Sequential",
    "Supervisor",
    "Team",
    "TeamSession",
    "TeamState",
    "ToolUse",
    "default_retry",
    "init_ray",
    "open_checkpointer",
    "tool_recipe",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
del TYPE_CHECKING, lazy_exports  # not public names of the package
