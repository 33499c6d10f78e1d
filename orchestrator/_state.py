"""The graph state every team shares, and the records that cross the agent boundary.

Only these pydantic-validated records cross an actor boundary: :class:`AgentRequest` goes to
an agent host, :class:`AgentStep` comes back. The graph state holds them as plain dicts so
checkpoints stay JSON-like and readable by any LangGraph checkpointer.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from agents import AgentResult

__all__ = ["AgentRequest", "AgentStep", "TeamState", "ToolUse", "step_from_result"]

# Most earlier steps an agent is shown (newest last); older ones stay in the state.
_SHOWN_STEPS = 64


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolUse(_Record):
    """One tool call an agent made and whether it succeeded."""

    name: str
    arguments: dict[str, Any]
    ok: bool


class AgentRequest(_Record):
    """What the orchestrator sends an agent host for one step."""

    task: str = Field(min_length=1)
    state: dict[str, Any] = Field(default_factory=dict)
    context: list[tuple[str, str]] = Field(default_factory=list)
    handoffs: list[str] = Field(default_factory=list)


class AgentStep(_Record):
    """What one agent step produced; the only thing an agent host returns."""

    agent: str
    output: str
    status: Literal["done", "max_steps"]
    steps: int = Field(ge=0)
    tool_calls: int = Field(ge=0)
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    memories_used: list[str] = Field(default_factory=list)
    tools_used: list[ToolUse] = Field(default_factory=list)
    handoff: str | None = None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


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


def step_from_result(agent: str, result: AgentResult) -> AgentStep:
    """Compress an :class:`~agents.AgentResult` into the record that crosses the boundary."""
    replies = {m.tool_call_id: m.content for m in result.messages if m.role == "tool"}
    tools_used = [
        ToolUse(
            name=call.name,
            arguments=call.arguments,
            ok=call.id in replies and not replies[call.id].startswith("error:"),
        )
        for message in result.messages
        if message.role == "assistant"
        for call in message.tool_calls
        if call.id in replies
    ]
    return AgentStep(
        agent=agent,
        output=result.output,
        status=result.status,
        steps=result.steps,
        tool_calls=result.tool_calls,
        prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens,
        memories_used=list(result.memories_used),
        tools_used=tools_used,
        handoff=result.handoff,
    )


def request_for(state: TeamState, agent: str, *, handoffs: list[str]) -> AgentRequest:
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
    return AgentRequest(task=task, state=view, context=context, handoffs=handoffs)
