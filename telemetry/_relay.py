"""Spans and metrics recorded in Ray actors travel home with the actors' replies.

Only the driver writes the trace store (a DuckDB file has one writer) and holds the OTLP
exporters. When it is exporting, the actors it starts keep the spans they finish and the
measurements they make in an outbox (:func:`collect_for_relay`); each reply carries them back
(:func:`outgoing`; an agent's step reply inside its bytes, :func:`with_outgoing`), and the
receiver queues them (:func:`relay`) and hands the spans to its own exporters and the
measurements to its own instruments in batches (:func:`flush_relayed`). An actor that
receives telemetry from another actor (an agent calling the memory actor) forwards it with its
own reply, so all of a run's telemetry reaches the driver, whichever node recorded it.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import pickle
import threading
import time
from collections.abc import Collection, Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from telemetry import _export, _metrics
from telemetry._provider import ColonyTracerProvider, LightSpanProcessor, _Span
from telemetry._spans import Attr, ray_node

_log = logging.getLogger(__name__)

SpanWire = tuple[Any, ...]
Wire = SpanWire | dict[str, Any]
"""A finished span as a tuple of plain values (:func:`to_wire`), or a metric measurement as a
dict (``{"metric": name, ...}``): SDK spans hold locks and do not pickle."""


class _Outbox(LightSpanProcessor):
    """Keeps each finished span as wire data until the next reply takes it.

    A processor of its own rather than an exporter behind ``SimpleSpanProcessor``, which
    switches the context twice per span to keep its export untraced: there is no export
    here, only a list. A light one: it reads a Colony span as it is.
    """

    def __init__(self) -> None:
        self._spans: list[Wire] = []
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        # Colony's own span (every processor is a light one) reads itself from its slots.
        wired = span.wire(_plain_resource(span.resource)) if type(span) is _Span else to_wire(span)
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


_PACKED = b"\x00"  # a reply that carries telemetry starts so; JSON never does


def with_outgoing(reply: bytes) -> bytes:
    """``reply`` (a record's JSON) with :func:`outgoing`'s telemetry after it, still as bytes
    (:func:`split_reply` takes them apart). Ray passes bytes on as they are, where a
    ``(reply, spans)`` tuple would go through its serializer: ~0.1 ms of each traced step's
    round trip (``colony bench orchestration``). Without telemetry, ``reply`` itself."""
    telemetry = outgoing()
    if not telemetry:
        return reply
    return b"".join(
        (_PACKED, len(reply).to_bytes(4, "little"), reply, pickle.dumps(telemetry, protocol=5))
    )


def split_reply(answer: bytes) -> tuple[bytes, bytes | None]:
    """The reply that :func:`with_outgoing` put in ``answer``, and its telemetry still
    encoded (for :func:`relay`), or None."""
    if not answer.startswith(_PACKED):
        return answer, None
    end = 5 + int.from_bytes(answer[1:5], "little")
    return answer[5:end], answer[end:]


def relay(telemetry: Sequence[Wire] | bytes | None) -> None:
    """Spans and measurements another process sent (as wire data, or as
    :func:`split_reply` left them): onward with this process's replies if it is an actor
    that relays, else to its exporters and instruments, by the inbox's thread."""
    if not telemetry:
        return
    if _OUTBOX is not None:
        _OUTBOX.keep(_decoded(telemetry))
    else:
        _INBOX.put(telemetry)


def flush_relayed(*, wait: bool = True, batch: int = 1) -> None:
    """Hand the telemetry that replies brought home, and the inbox still holds, to the
    exporters and instruments now (every flush of the exporters does this first).

    Args:
        wait: If another thread is handing it over, wait for it to finish; with False, return
            at once instead.
        batch: Only if the inbox holds this many replies' telemetry (see :class:`_Inbox`).
    """
    _INBOX.flush(wait=wait, batch=batch)


RELAY_BATCH = 64
"""Replies whose telemetry a caller about to wait for a reply hands over at once:
``flush_relayed(wait=False, batch=RELAY_BATCH)`` (see :class:`_Inbox`)."""


def _decoded(telemetry: Sequence[Wire] | bytes) -> Sequence[Wire]:
    if isinstance(telemetry, bytes):
        decoded: list[Wire] = pickle.loads(telemetry)
        return decoded
    return telemetry


def _deliver(telemetry: Sequence[Wire] | bytes) -> None:
    routes = _export.active_routes()
    for wired in _decoded(telemetry):
        if isinstance(wired, dict):  # a measurement
            _metrics.replay(wired)
        elif routes is not None:
            routes.on_end(from_wire(wired))


class _Inbox:
    """Telemetry that replies brought home, held until the process has time for it.

    Decoding a reply's spans and rebuilding them as SDK spans took ~0.07 ms of a traced Ray
    step on the driver, done reply by reply (``colony bench orchestration``), and ~0.019 ms
    done 64 at a time, with the code and data at hand. So the Ray runtime, after it sends a
    step and before it waits for the reply, hands over what :data:`RELAY_BATCH` replies
    brought, when so many have gathered (``flush_relayed(wait=False, batch=RELAY_BATCH)``).
    What no step takes, a thread of the inbox's own delivers within :attr:`LATENCY_S` (as a
    batch span processor exports on a schedule); it sleeps in between, so it does not
    contend with the caller for the interpreter on every reply.
    """

    LATENCY_S = 0.5

    def __init__(self) -> None:
        self._queue: collections.deque[Sequence[Wire] | bytes] = collections.deque()
        self._arrived = threading.Event()
        self._delivering = threading.Lock()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def put(self, telemetry: Sequence[Wire] | bytes) -> None:
        self._queue.append(telemetry)
        if self._thread is None or not self._thread.is_alive():
            with self._starting:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._deliver_late, name="colony-telemetry-inbox", daemon=True
                    )
                    self._thread.start()
        self._arrived.set()

    def flush(self, *, wait: bool = True, batch: int = 1) -> None:
        if len(self._queue) < max(batch, 1) or not self._delivering.acquire(blocking=wait):
            return
        try:
            while self._queue:
                telemetry = self._queue.popleft()
                try:
                    _deliver(telemetry)
                except Exception:  # telemetry never breaks a run
                    _log.warning("could not export relayed telemetry", exc_info=True)
        finally:
            self._delivering.release()

    def _deliver_late(self) -> None:
        while True:
            self._arrived.wait()
            time.sleep(self.LATENCY_S)
            self._arrived.clear()
            self.flush()


_INBOX = _Inbox()
_export.before_flush(flush_relayed)


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


def to_wire(span: ReadableSpan) -> SpanWire:
    """A finished span as plain, picklable data: a tuple, with its resource's attributes as
    the same dict for all spans of the process (one copy per reply's pickle)."""
    context = span.get_span_context()
    assert context is not None  # a finished span always has one
    parent = span.parent
    status = span.status
    scope = span.instrumentation_scope
    events = span.events
    return (
        span.name,
        context.trace_id,
        context.span_id,
        int(context.trace_flags),
        None if parent is None else parent.span_id,
        span.kind.value,
        status.status_code.value,
        status.description,
        span.start_time,
        span.end_time,
        dict(span.attributes or {}),
        [(e.name, e.timestamp, dict(e.attributes or {})) for e in events] if events else (),
        _plain_resource(span.resource),
        None if scope is None else (scope.name, scope.version),
    )


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


def from_wire(wired: SpanWire) -> ReadableSpan:
    """The span :func:`to_wire` described."""
    (
        name,
        trace_id,
        span_id,
        flags,
        parent_id,
        kind,
        code,
        description,
        start,
        end,
        attributes,
        events,
        resource,
        scope,
    ) = wired
    trace_flags = TraceFlags(flags)
    return ReadableSpan(
        name=name,
        context=SpanContext(trace_id, span_id, False, trace_flags),
        parent=None if parent_id is None else SpanContext(trace_id, parent_id, True, trace_flags),
        resource=_resource(resource),
        attributes=attributes,
        events=[Event(n, a, t) for n, t, a in events] if events else (),
        kind=_KINDS[kind],
        status=_UNSET
        if code == 0 and description is None
        else Status(StatusCode(code), description),
        start_time=start,
        end_time=end,
        instrumentation_scope=None if scope is None else _scope(*scope),
    )


_KINDS = {kind.value: kind for kind in SpanKind}
_UNSET = Status(StatusCode.UNSET)
