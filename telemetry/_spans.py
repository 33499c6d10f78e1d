"""Span helpers, attribute names, and trace context that crosses process boundaries.

Names follow the OpenTelemetry GenAI semantic conventions (development status): a span is
named ``"{gen_ai.operation.name} {subject}"`` (``invoke_agent writer``, ``chat gpt-4o``,
``execute_tool add``); what the conventions do not cover (memory-policy decisions, the run's
status) is in the ``colony.*`` namespace.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TypeVar

from opentelemetry import baggage, context, propagate, trace
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.util.types import AttributeValue

# Exported through telemetry/__init__.py.

T = TypeVar("T")

TRACER_NAME = "colony"
CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""Set to ``true`` to record message content on spans (off by default: it may hold PII)."""

# A ProxyTracer until the application installs a tracer provider; it follows the provider
# installed later, so library modules can hold it from import time.
_TRACER = trace.get_tracer(TRACER_NAME)


class Attr:
    """Attribute names: GenAI semantic conventions first, then Colony's own."""

    OPERATION = "gen_ai.operation.name"
    PROVIDER = "gen_ai.provider.name"
    WORKFLOW = "gen_ai.workflow.name"
    CONVERSATION = "gen_ai.conversation.id"
    AGENT = "gen_ai.agent.name"
    AGENT_ID = "gen_ai.agent.id"
    REQUEST_MODEL = "gen_ai.request.model"
    INPUT_TOKENS = "gen_ai.usage.input_tokens"
    OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
    INPUT_MESSAGES = "gen_ai.input.messages"
    OUTPUT_MESSAGES = "gen_ai.output.messages"
    TOOL = "gen_ai.tool.name"
    TOOL_CALL = "gen_ai.tool.call.id"
    TOOL_TYPE = "gen_ai.tool.type"
    TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
    TOOL_RESULT = "gen_ai.tool.call.result"
    MEMORY_STORE = "gen_ai.memory.store.id"
    MEMORY_ID = "gen_ai.memory.id"
    MEMORY_NAMESPACE = "gen_ai.memory.namespace"
    MEMORY_TYPE = "gen_ai.memory.type"
    MEMORY_COUNT = "gen_ai.memory.record.count"
    MEMORY_QUERY = "gen_ai.memory.query.text"
    MEMORY_RECORDS = "gen_ai.memory.records"
    ERROR_TYPE = "error.type"
    PID = "process.pid"

    RUN = "colony.run.id"
    RUN_STATUS = "colony.run.status"
    TEAM = "colony.team"
    NODE = "colony.node.id"
    STEPS = "colony.agent.steps"
    TOOL_CALLS = "colony.agent.tool_calls"
    HANDOFF = "colony.agent.handoff"
    DECISION = "colony.memory.decision"
    POLICY = "colony.memory.policy"
    CONFIDENCE = "colony.memory.confidence"
    TARGET = "colony.memory.target"
    VERSION = "colony.memory.version"
    DECIDE_MS = "colony.memory.decide_ms"
    ERASED = "colony.memory.erased"  # a delete_memory span of an erasure: versions removed


def ray_node() -> str | None:
    """The Ray node this process runs on; None outside Ray (Ray is not imported for it)."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    return str(ray.get_runtime_context().get_node_id())


def capture_content() -> bool:
    """Whether message content may be recorded (:data:`CONTENT_ENV` is ``true``)."""
    return os.environ.get(CONTENT_ENV, "").strip().lower() in ("true", "1", "yes")


def span(
    operation: str | None,
    subject: str | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue | None] | None = None,
    name: str | None = None,
    leaf: bool = False,
) -> AbstractContextManager[Span]:
    """The current span for one operation, ended on exit.

    Args:
        operation: ``gen_ai.operation.name`` (``invoke_agent``, ``chat``...); ``None`` for an
            operation the conventions do not name (then give ``name``).
        subject: What it acts on: the agent, model, tool or memory store.
        kind: ``CLIENT`` for a call into another process or service, else ``INTERNAL``.
        attributes: Set at the start (``None`` values are left out), where samplers see them.
        name: The span name, when not ``"{operation} {subject}"``.
        leaf: The block opens no span of its own (a model call, a store write): the span is
            not made current, which saves a context switch on each side.

    An exception leaving the block marks the span failed (status ``ERROR``, the exception as
    an event, ``error.type``) and propagates unchanged.
    """
    initial: dict[str, AttributeValue] = {} if operation is None else {Attr.OPERATION: operation}
    if attributes:
        for key, value in attributes.items():
            if value is not None:
                initial[key] = value
    title = name or (f"{operation} {subject}" if subject else str(operation))
    return _Scope(_TRACER.start_span(title, kind=kind, attributes=initial), leaf)


class _Scope:
    """A started span, current (unless a leaf) from ``__enter__`` and ended at ``__exit__``.

    A class, not ``start_as_current_span``: the SDK's way wraps two generator context managers
    and costs about 10 µs more per span, a few percent of an in-process agent hop.
    """

    __slots__ = ("_leaf", "_span", "_token")

    def __init__(self, started: Span, leaf: bool) -> None:
        self._span = started
        self._leaf = leaf
        self._token: context.Token[context.Context] | None = None

    def __enter__(self) -> Span:
        if not self._leaf:
            self._token = context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> None:
        try:
            if exc is not None:
                failed(self._span, exc)
        finally:
            if self._token is not None:
                context.detach(self._token)
            self._span.end()


def start(
    operation: str,
    subject: str | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue | None] | None = None,
) -> Span:
    """A span the caller makes current where it works (:func:`within`) and ends itself.

    For work that is a generator: a span made current with ``with`` would stay current in
    the consumer's code between two items.
    """
    initial: dict[str, AttributeValue] = {Attr.OPERATION: operation}
    initial.update({k: v for k, v in (attributes or {}).items() if v is not None})
    title = f"{operation} {subject}" if subject else operation
    return _TRACER.start_span(title, kind=kind, attributes=initial)


def within(current: Span, items: Iterator[T]) -> Iterator[T]:
    """``items``, each produced with ``current`` as the current span."""
    scope = trace.set_span_in_context(current)
    while True:
        token = context.attach(scope)
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            context.detach(token)
        yield item


def failed(current: Span, exc: BaseException) -> None:
    """Mark ``current`` failed by ``exc`` (not for a consumer that stopped early)."""
    if isinstance(exc, GeneratorExit):
        return
    current.record_exception(exc)
    current.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    current.set_attribute(Attr.ERROR_TYPE, type(exc).__qualname__)


# The W3C trace context, as the default propagators (``tracecontext,baggage``) write it.
_W3C_FIELDS = frozenset({"traceparent", "tracestate", "baggage"})
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_DEFAULT_TEXTMAP: tuple[object, bool] = (None, False)


def _w3c_only() -> bool:
    """Whether the process's propagators are the default W3C ones, or trace context alone: a
    span context alone then travels as one ``traceparent`` header, which :func:`carrier` and
    :func:`attached` write and read themselves (~1 µs, where the composite propagator takes
    ~7 µs: on every Ray step)."""
    global _DEFAULT_TEXTMAP
    textmap = propagate.get_global_textmap()
    known, w3c = _DEFAULT_TEXTMAP
    if known is not textmap:
        fields = set(textmap.fields)
        w3c = "traceparent" in fields and fields <= _W3C_FIELDS
        _DEFAULT_TEXTMAP = (textmap, w3c)
    return w3c


def carrier() -> dict[str, str]:
    """The current trace context as W3C ``traceparent`` headers, to send with a request
    (through the process's propagators: a ``tracestate``, baggage or other formats too)."""
    current = trace.get_current_span().get_span_context()
    if _w3c_only() and not current.trace_state and not baggage.get_all():
        if current == trace.INVALID_SPAN_CONTEXT:
            return {}
        flags = current.trace_flags
        return {"traceparent": f"00-{current.trace_id:032x}-{current.span_id:016x}-{flags:02x}"}
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def _extracted(headers: Mapping[str, str]) -> context.Context:
    """The context ``headers`` carry, as ``propagate.extract`` reads them."""
    value = headers.get("traceparent") if len(headers) == 1 else None
    if value is not None and _w3c_only():
        match = _TRACEPARENT.fullmatch(value)
        if match is not None:
            trace_id, span_id = int(match[1], 16), int(match[2], 16)
            if trace_id and span_id:
                remote = SpanContext(trace_id, span_id, True, TraceFlags(int(match[3], 16)))
                return trace.set_span_in_context(NonRecordingSpan(remote), context.Context())
    return propagate.extract(dict(headers))


def attached(headers: Mapping[str, str] | None) -> AbstractContextManager[None]:
    """Run the block in the trace context a request brought (see :func:`carrier`).

    A request without one (a caller in this process and thread, or one that does not trace)
    leaves the current context as it is.
    """
    return _Attached(_extracted(headers) if headers else None)


class _Attached:
    """A class, as :class:`_Scope`, for the same reason: on every actor step."""

    __slots__ = ("_context", "_token")

    def __init__(self, attaching: context.Context | None) -> None:
        self._context = attaching
        self._token: context.Token[context.Context] | None = None

    def __enter__(self) -> None:
        if self._context is not None:
            self._token = context.attach(self._context)

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            context.detach(self._token)
