"""The records that cross an agent's process boundary, and the worker that serves them.

Only these pydantic-validated records cross an actor boundary: :class:`AgentRequest` goes to
an agent's host, :class:`AgentStep` comes back. :class:`AgentWorker` is the body of an agent's
Ray actor; it imports nothing of the orchestrator (LangGraph stays in the driver), which keeps
each actor process lighter and quicker to start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from typing import Any, Literal, cast

from opentelemetry.trace import Span
from pydantic import BaseModel, ConfigDict, Field

from agents._agent import Agent
from agents._host import AgentHost, AgentResult
from memory import MemoryService
from telemetry import Attr, attached, collect_for_relay, ray_node, span, with_outgoing
from telemetry._metrics import AGENT_DURATION, AGENT_STEPS

__all__ = [
    "AgentRequest",
    "AgentStep",
    "AgentWorker",
    "ToolUse",
    "record_step",
    "step_from_result",
]


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
    # The caller's trace context (W3C traceparent), so the agent's spans join the run's trace.
    trace: dict[str, str] = Field(default_factory=dict)
    # Names this step of this run ("<thread>/<agent>/<steps so far>"): a step sent again
    # after its actor died writes its memory under the same id, so it is not written twice.
    write_key: str | None = None


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


def record_step(current: Span, step: AgentStep) -> None:
    """What an agent step did, as attributes of its ``invoke_agent`` span."""
    current.set_attributes(
        {
            Attr.INPUT_TOKENS: step.prompt_tokens,
            Attr.OUTPUT_TOKENS: step.completion_tokens,
            Attr.STEPS: step.steps,
            Attr.TOOL_CALLS: step.tool_calls,
            Attr.RUN_STATUS: step.status,
        }
    )
    if step.handoff is not None:
        current.set_attribute(Attr.HANDOFF, step.handoff)


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


class AgentWorker:
    """Hosts one agent behind a records-in, records-out boundary (the body of a Ray actor)."""

    def __init__(
        self,
        agent: Agent,
        team: str,
        memory: Any = None,
        *,
        relay: Collection[str] = (),
    ) -> None:
        if relay:  # in an actor: what to send home with each reply (telemetry.to_relay)
            collect_for_relay(relay)
        self.host = AgentHost(agent, team=team, memory=cast(MemoryService | None, memory))
        # Where this worker runs, for its spans: fixed for the life of the process.
        self._where = {Attr.PID: os.getpid(), Attr.NODE: ray_node()}

    def step(self, request: dict[str, Any]) -> dict[str, Any]:
        """Validate the request, run the agent, return a validated :class:`AgentStep` dict."""
        return self._step(AgentRequest.model_validate(request)).model_dump()

    def step_json(self, request: bytes) -> bytes:
        """:meth:`step` on the records' JSON: what the Ray runtime sends and receives.

        Ray hands bytes over as they are, where it would encode a dict on both legs; that
        saves about 0.1 ms of each step's actor round trip (``colony bench orchestration``).
        """
        return self._step(AgentRequest.model_validate_json(request)).model_dump_json().encode()

    def step_relay(self, request: bytes) -> bytes:
        """:meth:`step_json`, with the spans and metric measurements this process made since
        the last reply after the JSON (the driver exports them: see :mod:`telemetry._relay`;
        :func:`telemetry.split_reply` takes them apart)."""
        return with_outgoing(self.step_json(request))

    def _step(self, req: AgentRequest) -> AgentStep:
        name = self.host.agent.name
        with (
            attached(req.trace),
            span(
                "invoke_agent",
                name,
                attributes={Attr.AGENT: name, Attr.TEAM: self.host.team, **self._where},
            ) as current,
        ):
            started = time.perf_counter()
            result = self.host.run(
                req.task,
                req.state,
                context=req.context,
                handoffs=tuple(req.handoffs),
                write_key=req.write_key,
            )
            step = step_from_result(name, result)
            record_step(current, step)
        where = {Attr.AGENT: name, Attr.TEAM: self.host.team, Attr.RUN_STATUS: step.status}
        AGENT_STEPS.add(1, where)
        AGENT_DURATION.record(time.perf_counter() - started, where)
        return step

    def ping(self) -> int:
        """A no-op call (the benchmark's bare actor round trip)."""
        return 0

    def pid(self) -> int:
        """The process id (tests kill actors by PID)."""
        return os.getpid()

    def node_id(self) -> str:
        """The Ray node this worker runs on ("" outside Ray)."""
        return ray_node() or ""

    def working_texts(self) -> list[str]:
        """Texts in the agent's private working memory (for the owner's inspection only)."""
        return [item.text for item in self.host.working_items()]
