"""Colony orchestration: teams of agents compiled to LangGraph graphs, run locally or on Ray.

A :class:`Team` wires :class:`~agents.Agent` objects with a flow (:class:`Sequential`,
:class:`Parallel`, :class:`Supervisor`, :class:`Handoffs` or :class:`Custom`), shares a
memory service among them, checkpoints every step, and learns insights across runs. Errors
live in :mod:`orchestrator.errors`.
"""

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
