"""The tracer provider Colony installs: the SDK's, with a lighter span.

An SDK span costs ~20 µs to start and end in a tight loop, and about 50 µs inside a running
agent hop: a lock per attribute write, bounded collections, span limits, the sampler and id
generator called through several layers. Three or four spans per hop made tracing cost 6-7%
of an in-process hop of ~2 ms. :class:`ColonyTracerProvider` keeps everything of the SDK
provider that exporters and applications rely on (its span processors, resource, sampler,
``force_flush`` and ``shutdown``) and hands out tracers whose spans are plain objects: the
attributes are a dict written by the one thread that owns the span, and ``end()`` hands the
provider's processors an SDK :class:`~opentelemetry.sdk.trace.ReadableSpan`, which every
exporter reads.

Kept from the SDK's semantics: parent-based sampling (the default, or any sampler the
provider is given, asked for every span when it is not the default), W3C ids from
``random.getrandbits``, ``None`` attribute values dropped and lists stored as tuples, a
status that stays ``OK`` once set so, exceptions recorded as ``exception`` events, and no
change after ``end()``. Not kept: span limits (Colony's spans carry a dozen attributes, no
links and at most one event), and ``OTEL_SDK_DISABLED`` turns tracing off as in the SDK.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from random import getrandbits
from types import MappingProxyType, TracebackType
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider, sampling
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.util._decorator import _agnosticcontextmanager
from opentelemetry.util.types import Attributes, AttributeValue

__all__ = ["ColonyTracerProvider", "LightSpanProcessor"]

_log = logging.getLogger(__name__)

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSAMPLED = TraceFlags(TraceFlags.DEFAULT)
_UNSET = Status(StatusCode.UNSET)
_KIND_VALUES = {kind: kind.value for kind in SpanKind}


class LightSpanProcessor(SpanProcessor):
    """A span processor whose ``on_end`` reads a span only through what an SDK
    :class:`~opentelemetry.sdk.trace.ReadableSpan` and Colony's own span both offer: ``name``,
    ``get_span_context()``, ``parent``, ``kind``, ``attributes``, ``events``, ``status``,
    ``start_time``, ``end_time``, ``resource`` and ``instrumentation_scope``.

    When every processor of a :class:`ColonyTracerProvider` is one (in a Ray actor, the
    relay's outbox), a span's ``end()`` hands over the span itself, where it would make a
    ReadableSpan for the processors.
    """


class ColonyTracerProvider(TracerProvider):
    """An SDK :class:`~opentelemetry.sdk.trace.TracerProvider` whose spans are cheaper.

    Takes the SDK provider's arguments; add exporters with ``add_span_processor`` as usual.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The processors while all are light ones; None once one is not, or if some were
        # given to the constructor (an active_span_processor), which this class does not see.
        given = self._active_span_processor._span_processors
        self._light: tuple[SpanProcessor, ...] | None = None if given else ()

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        if self._light is not None:
            light = isinstance(span_processor, LightSpanProcessor)
            self._light = (*self._light, span_processor) if light else None

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> trace.Tracer:
        if self._disabled:
            return trace.NoOpTracer()
        scope = InstrumentationScope(
            instrumenting_module_name or "", instrumenting_library_version, schema_url, attributes
        )
        return _Tracer(self, scope)


class _Tracer(trace.Tracer):
    """Starts :class:`_Span` objects for one instrumentation scope of a provider."""

    def __init__(self, provider: ColonyTracerProvider, scope: InstrumentationScope) -> None:
        self._provider = provider
        self._scope = scope
        self._wire_scope = (scope.name, scope.version)

    def start_span(
        self,
        name: str,
        context: context_api.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        has_parent = parent.is_valid
        trace_id = parent.trace_id if has_parent else getrandbits(128)
        provider = self._provider
        sampler = provider.sampler
        state = parent.trace_state if has_parent else None
        # The SDK's default sampler (parent-based, always on at the root) is decided here
        # without a call: a sampled or absent parent records, an unsampled one does not.
        if sampler is sampling.DEFAULT_ON or sampler is sampling.ALWAYS_ON:
            sampled = not has_parent or parent.trace_flags.sampled or sampler is sampling.ALWAYS_ON
        else:
            result = sampler.should_sample(context, trace_id, name, kind, attributes, links)
            sampled = result.decision.is_sampled()
            attributes, state = result.attributes, result.trace_state
        span_context = SpanContext(
            trace_id, getrandbits(64), False, _SAMPLED if sampled else _UNSAMPLED, state
        )
        if not sampled:
            return NonRecordingSpan(span_context)
        span = _Span(
            name,
            span_context,
            parent if has_parent else None,
            kind,
            attributes,
            links,
            start_time,
            self,
        )
        provider._active_span_processor.on_start(span, parent_context=context)  # type: ignore[arg-type]
        return span

    @_agnosticcontextmanager  # as the API's, so the override has the same type
    def start_as_current_span(
        self,
        name: str,
        context: context_api.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class _Span(trace.Span):
    """A recording span owned by the thread that started it (as Colony's are)."""

    __slots__ = (
        "_attributes",
        "_context",
        "_end",
        "_events",
        "_kind",
        "_links",
        "_name",
        "_parent",
        "_start",
        "_status",
        "_tracer",
    )

    def __init__(
        self,
        name: str,
        span_context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: Attributes,
        links: Sequence[Link] | None,
        start_time: int | None,
        tracer: _Tracer,
    ) -> None:
        self._name = name
        self._context = span_context
        self._parent = parent
        self._kind = kind
        self._end: int | None = None
        self._attributes: dict[str, AttributeValue] = {}
        if attributes:
            self.set_attributes(attributes)
        self._links: tuple[Link, ...] = tuple(links) if links else ()
        self._events: list[Event] = []
        self._status = _UNSET
        self._start = start_time or time.time_ns()
        self._tracer = tracer

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        if self._end is not None:
            _log.warning("setting attributes on the ended span %r", self._name)
            return
        own = self._attributes
        for key, value in attributes.items():
            if value is not None:
                own[key] = tuple(value) if isinstance(value, list) else value

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        # Not through set_attributes: a dict per call on the hot path of every span.
        if self._end is not None:
            _log.warning("setting attributes on the ended span %r", self._name)
        elif value is not None:
            self._attributes[key] = tuple(value) if isinstance(value, list) else value

    def add_event(
        self, name: str, attributes: Attributes = None, timestamp: int | None = None
    ) -> None:
        if self._end is None:
            self._events.append(Event(name, attributes, timestamp or time.time_ns()))

    def add_link(self, context: SpanContext, attributes: Attributes = None) -> None:
        if self._end is None and context.is_valid:
            self._links = (*self._links, Link(context, attributes))

    def update_name(self, name: str) -> None:
        if self._end is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: UNSET never overrides, and OK is final.
        if self._end is not None or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            if status.status_code is not StatusCode.UNSET:
                self._status = status
        elif status is not StatusCode.UNSET:
            self._status = Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        kind = type(exception)
        module = kind.__module__
        recorded: dict[str, Any] = {
            "exception.type": f"{module}.{kind.__qualname__}"
            if module and module != "builtins"
            else kind.__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        if attributes:
            recorded.update(attributes)
        self.add_event("exception", recorded, timestamp)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """Ends the span; an exception leaving the block is recorded, as the SDK does."""
        if exc_val is not None and exc_type is not None and self._end is None:
            self.record_exception(exc_val, escaped=True)
            self.set_status(Status(StatusCode.ERROR, f"{exc_type.__name__}: {exc_val}"))
        self.end()

    def end(self, end_time: int | None = None) -> None:
        if self._end is not None:
            _log.warning("the span %r was ended twice", self._name)
            return
        self._end = end_time or time.time_ns()
        tracer = self._tracer
        provider = tracer._provider
        light = provider._light
        if light is not None:
            for processor in light:
                processor.on_end(self)  # type: ignore[arg-type]
            return
        finished = ReadableSpan(
            name=self._name,
            context=self._context,
            parent=self._parent,
            resource=provider.resource,
            attributes=self._attributes,
            events=tuple(self._events),
            links=self._links,
            kind=self._kind,
            status=self._status,
            start_time=self._start,
            end_time=self._end,
            instrumentation_scope=tracer._scope,
        )
        provider._active_span_processor.on_end(finished)

    def wire(self, resource: dict[str, Any]) -> tuple[Any, ...]:
        """This ended span as plain data, read from its slots (the tuple
        :func:`telemetry._relay.to_wire` makes of any span; ``resource``: its resource's
        attributes as the caller shares them between spans). The attributes are the span's
        own dict, not a copy: an ended span takes no more."""
        context, parent, status, events = self._context, self._parent, self._status, self._events
        return (
            self._name,
            context.trace_id,
            context.span_id,
            int(context.trace_flags),
            None if parent is None else parent.span_id,
            _KIND_VALUES[self._kind],
            0 if status is _UNSET else status.status_code.value,
            status.description,
            self._start,
            self._end,
            self._attributes,
            [(e.name, e.timestamp, dict(e.attributes or {})) for e in events] if events else (),
            resource,
            self._tracer._wire_scope,
        )

    # Read as on an SDK span, by code that inspects a live span.
    @property
    def name(self) -> str:
        return self._name

    @property
    def context(self) -> SpanContext:
        return self._context

    @property
    def parent(self) -> SpanContext | None:
        return self._parent

    @property
    def kind(self) -> SpanKind:
        return self._kind

    @property
    def attributes(self) -> Mapping[str, AttributeValue]:
        return MappingProxyType(self._attributes)

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self._events)

    @property
    def status(self) -> Status:
        return self._status

    @property
    def start_time(self) -> int:
        return self._start

    @property
    def end_time(self) -> int | None:
        return self._end

    @property
    def resource(self) -> Resource:
        return self._tracer._provider.resource

    @property
    def instrumentation_scope(self) -> InstrumentationScope:
        return self._tracer._scope

    def __repr__(self) -> str:
        return f"_Span({self._name!r}, {self._context!r})"
