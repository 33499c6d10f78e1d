"""Metrics of team runs, through the OpenTelemetry metrics API.

Instruments follow the GenAI semantic conventions where they name one
(``gen_ai.client.token.usage``, ``gen_ai.client.operation.duration``) and Colony's namespace
otherwise. Without an SDK meter provider every call is a no-op.

In a Ray actor that relays its telemetry (see :mod:`telemetry._relay`), a measurement is not
recorded where it is made: it travels home with the actor's reply and is recorded there by
:func:`replay`, so the driver's meter provider counts the steps, tokens and memory operations
of every actor, on whatever node it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import metrics
from opentelemetry.util.types import AttributeValue

from telemetry._spans import Attr

_METER = metrics.get_meter("colony")

Attributes = Mapping[str, AttributeValue]

_SINK: Callable[[dict[str, Any]], None] | None = None
"""Where measurements go instead of the instruments: the relay's outbox, in an actor."""


def relay_to(sink: Callable[[dict[str, Any]], None]) -> None:
    """Send this process's measurements to ``sink``, as plain data, from now on."""
    global _SINK
    _SINK = sink


class _Instrument:
    """A counter or histogram that is recorded here, or relayed from an actor."""

    __slots__ = ("_write", "name")

    def __init__(self, name: str, write: Callable[[float, Attributes], None]) -> None:
        self.name = name
        self._write = write
        _BY_NAME[name] = self

    def _measure(self, value: float, attributes: Attributes) -> None:
        sink = _SINK
        if sink is None:
            self._write(value, attributes)
        else:
            sink({"metric": self.name, "value": value, "attributes": dict(attributes)})


class _Counter(_Instrument):
    def add(self, value: float, attributes: Attributes) -> None:
        """Add ``value`` (>= 0)."""
        self._measure(value, attributes)


class _Histogram(_Instrument):
    def record(self, value: float, attributes: Attributes) -> None:
        """Record one ``value``."""
        self._measure(value, attributes)


_BY_NAME: dict[str, _Instrument] = {}


def _counter(name: str, unit: str, description: str) -> _Counter:
    return _Counter(name, _METER.create_counter(name, unit=unit, description=description).add)


def _histogram(name: str, unit: str, description: str) -> _Histogram:
    instrument = _METER.create_histogram(name, unit=unit, description=description)
    return _Histogram(name, instrument.record)


def replay(measurement: Mapping[str, Any]) -> None:
    """Record a measurement another process relayed (see :func:`relay_to`)."""
    instrument = _BY_NAME.get(measurement["metric"])
    if instrument is not None:  # an instrument this version does not know: dropped
        instrument._measure(measurement["value"], measurement["attributes"])


TOKENS = _histogram(
    "gen_ai.client.token.usage",
    "{token}",
    "Tokens used by one model call, by gen_ai.token.type (input, output)",
)
MODEL_DURATION = _histogram("gen_ai.client.operation.duration", "s", "Duration of one model call")
AGENT_STEPS = _counter("colony.agent.steps", "{step}", "Agent steps, by agent and status")
AGENT_DURATION = _histogram("colony.agent.step.duration", "s", "Duration of one agent step")
MODEL_CALLS = _counter("colony.model.calls", "{call}", "Model calls, by agent and model")
TOOL_CALLS = _counter("colony.tool.calls", "{call}", "Tool calls, by tool and outcome")
MEMORY_OPERATIONS = _counter(
    "colony.memory.operations",
    "{operation}",
    "Memory operations, by gen_ai.operation.name (and policy decision)",
)
MEMORY_DURATION = _histogram(
    "colony.memory.operation.duration", "s", "Duration of one memory operation"
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
