"""Spans and metrics recorded in Ray actors travel home with the actors' replies.

Only the driver writes the trace store (a DuckDB file has one writer) and holds the OTLP
exporters. When it is exporting, the actors it starts keep the spans they finish and the
measurements they make in an outbox (:func:`collect_for_relay`); each reply carries them back
(:func:`outgoing`), and the receiver hands the spans to its own exporters and records the
measurements on its own instruments (:func:`relay`). An actor that receives telemetry from
another actor (an agent calling the memory actor) forwards it with its own reply, so all of a
run's telemetry reaches the driver, whichever node recorded it.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Collection, Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from telemetry import _export, _metrics
from telemetry._provider import ColonyTracerProvider
from telemetry._spans import Attr, ray_node

Wire = dict[str, Any]
"""A finished span, or a metric measurement (``{"metric": name, ...}``), as plain data (SDK
spans hold locks and do not pickle)."""


class _Outbox(SpanProcessor):
    """Keeps each finished span as wire data until the next reply takes it.

    A processor of its own rather than an exporter behind ``SimpleSpanProcessor``, which
    switches the context twice per span to keep its export untraced: there is no export
    here, only a list.
    """

    def __init__(self) -> None:
        self._spans: list[Wire] = []
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        wired = to_wire(span)
        with self._lock:
            self._spans.append(wired)

    def keep(self, spans: Sequence[Wire]) -> None:
        with self._lock:
            self._spans.extend(spans)

    def put(self, wired: Wire) -> None:
        with self._lock:
            self._spans.append(wired)

    def drain(self) -> list[Wire]:
        with self._lock:
            spans, self._spans = self._spans, []
        return spans


_OUTBOX: _Outbox | None = None
_RELAYED: set[str] = set()  # the signals this process sends home
_OUTBOX_LOCK = threading.Lock()

SIGNALS = ("spans", "metrics")


def to_relay() -> frozenset[str]:
    """What the actors this process starts should send home: ``spans`` while it exports spans
    (:func:`telemetry.configure`), ``metrics`` while it has an SDK meter provider (metrics
    exported over OTLP). Nothing is relayed that would be dropped on arrival."""
    signals = set()
    if _export.exporting():
        signals.add("spans")
    if isinstance(metrics.get_meter_provider(), MeterProvider):
        signals.add("metrics")
    return frozenset(signals)


def collect_for_relay(signals: Collection[str], service_name: str = "colony") -> None:
    """In an actor: keep the spans this process finishes and/or the measurements it makes
    (``signals``, from the starter's :func:`to_relay`) for :func:`outgoing`. Idempotent.

    Raises:
        ValueError: A signal other than ``spans`` and ``metrics``.
    """
    global _OUTBOX
    unknown = set(signals) - set(SIGNALS)
    if unknown:
        raise ValueError(f"unknown telemetry signals {sorted(unknown)}; choose from {SIGNALS}")
    with _OUTBOX_LOCK:
        if _OUTBOX is None:
            _OUTBOX = _Outbox()
        if "spans" in signals and "spans" not in _RELAYED:
            provider = trace.get_tracer_provider()
            if not isinstance(provider, TracerProvider):
                where: dict[str, Any] = {"service.name": service_name, "process.pid": os.getpid()}
                node = ray_node()
                if node is not None:
                    where[Attr.NODE] = node
                provider = ColonyTracerProvider(resource=Resource.create(where))
                trace.set_tracer_provider(provider)
            provider.add_span_processor(_OUTBOX)
        if "metrics" in signals and "metrics" not in _RELAYED:
            _metrics.relay_to(_OUTBOX.put)
        _RELAYED.update(signals)


def outgoing() -> list[Wire]:
    """The spans and measurements made here since the last call (none when this process does
    not relay)."""
    return _OUTBOX.drain() if _OUTBOX is not None else []


def relay(telemetry: Sequence[Wire]) -> None:
    """Spans and measurements another process sent: to this process's exporters and
    instruments, or onward with its replies."""
    if not telemetry:
        return
    if _OUTBOX is not None:
        _OUTBOX.keep(telemetry)
        return
    routes = _export.active_routes()
    for wired in telemetry:
        if "metric" in wired:
            _metrics.replay(wired)
        elif routes is not None:
            routes.on_end(from_wire(wired))


_PLAIN_RESOURCE: tuple[Resource | None, dict[str, Any]] = (None, {})


def _plain_resource(resource: Resource | None) -> dict[str, Any]:
    """A process's resource as one dict, the same object for all its spans: a reply's pickle
    then carries it once, however many spans it holds."""
    global _PLAIN_RESOURCE
    if resource is None:
        return {}
    known, plain = _PLAIN_RESOURCE
    if known is not resource:
        plain = dict(resource.attributes)
        _PLAIN_RESOURCE = (resource, plain)
    return plain


def to_wire(span: ReadableSpan) -> Wire:
    """A finished span as plain, picklable data."""
    context = span.get_span_context()
    assert context is not None  # a finished SDK span always has one
    scope = span.instrumentation_scope
    return {
        "name": span.name,
        "trace_id": context.trace_id,
        "span_id": context.span_id,
        "flags": int(context.trace_flags),
        "parent": None if span.parent is None else span.parent.span_id,
        "kind": span.kind.value,
        "status": (span.status.status_code.value, span.status.description),
        "start": span.start_time,
        "end": span.end_time,
        "attributes": dict(span.attributes or {}),
        "events": [(e.name, e.timestamp, dict(e.attributes or {})) for e in span.events],
        "resource": _plain_resource(span.resource),
        "scope": None if scope is None else (scope.name, scope.version),
    }


# Each sending process has one resource: made once here, not for every span it sends.
_RESOURCES: dict[tuple[tuple[str, Any], ...], Resource] = {}
_LAST_RESOURCE: tuple[dict[str, Any] | None, Resource] = (None, Resource({}))


@functools.lru_cache(maxsize=64)
def _scope(name: str, version: str | None) -> InstrumentationScope:
    return InstrumentationScope(name, version)


def _resource(attributes: dict[str, Any]) -> Resource:
    global _LAST_RESOURCE
    last, made = _LAST_RESOURCE
    if attributes is last:  # the spans of one reply share their resource's dict
        return made
    key = tuple(sorted(attributes.items()))
    try:
        known = _RESOURCES.get(key)
    except TypeError:  # a value that does not hash (a list): not cached
        return Resource(attributes)
    if known is None:
        if len(_RESOURCES) > 256:  # actors come and go
            _RESOURCES.clear()
        known = _RESOURCES[key] = Resource(attributes)
    _LAST_RESOURCE = (attributes, known)
    return known


def from_wire(wired: Wire) -> ReadableSpan:
    """The span :func:`to_wire` described."""
    flags = TraceFlags(wired["flags"])
    context = SpanContext(wired["trace_id"], wired["span_id"], is_remote=False, trace_flags=flags)
    parent = (
        None
        if wired["parent"] is None
        else SpanContext(wired["trace_id"], wired["parent"], is_remote=True, trace_flags=flags)
    )
    code, description = wired["status"]
    scope = wired["scope"]
    return ReadableSpan(
        name=wired["name"],
        context=context,
        parent=parent,
        resource=_resource(wired["resource"]),
        attributes=wired["attributes"],
        events=[
            Event(name, attributes, timestamp) for name, timestamp, attributes in wired["events"]
        ],
        kind=SpanKind(wired["kind"]),
        status=Status(StatusCode(code), description),
        start_time=wired["start"],
        end_time=wired["end"],
        instrumentation_scope=None if scope is None else _scope(*scope),
    )
