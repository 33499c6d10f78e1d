"""Metrics of team runs, through the OpenTelemetry metrics API.

Instruments follow the GenAI semantic conventions where they name one
(``gen_ai.client.token.usage``, ``gen_ai.client.operation.duration``) and Colony's namespace
otherwise. Without an SDK meter provider every call is a no-op.
"""

from __future__ import annotations

from opentelemetry import metrics

from telemetry._spans import Attr

_METER = metrics.get_meter("colony")

TOKENS = _METER.create_histogram(
    "gen_ai.client.token.usage",
    unit="{token}",
    description="Tokens used by one model call, by gen_ai.token.type (input, output)",
)
MODEL_DURATION = _METER.create_histogram(
    "gen_ai.client.operation.duration",
    unit="s",
    description="Duration of one model call",
)
AGENT_STEPS = _METER.create_counter(
    "colony.agent.steps", unit="{step}", description="Agent steps, by agent and status"
)
AGENT_DURATION = _METER.create_histogram(
    "colony.agent.step.duration", unit="s", description="Duration of one agent step"
)
MODEL_CALLS = _METER.create_counter(
    "colony.model.calls", unit="{call}", description="Model calls, by agent and model"
)
TOOL_CALLS = _METER.create_counter(
    "colony.tool.calls", unit="{call}", description="Tool calls, by tool and outcome"
)
MEMORY_OPERATIONS = _METER.create_counter(
    "colony.memory.operations",
    unit="{operation}",
    description="Memory operations, by gen_ai.operation.name (and policy decision)",
)
MEMORY_DURATION = _METER.create_histogram(
    "colony.memory.operation.duration", unit="s", description="Duration of one memory operation"
)


def model_call(
    agent: str, provider: str, model: str, seconds: float, usage: tuple[int, int]
) -> None:
    """Record one model call: its duration and its input and output tokens."""
    where = {Attr.AGENT: agent, Attr.PROVIDER: provider, Attr.REQUEST_MODEL: model}
    MODEL_CALLS.add(1, where)
    MODEL_DURATION.record(seconds, {**where, Attr.OPERATION: "chat"})
    prompt, completion = usage
    TOKENS.record(prompt, {**where, "gen_ai.token.type": "input"})
    TOKENS.record(completion, {**where, "gen_ai.token.type": "output"})
