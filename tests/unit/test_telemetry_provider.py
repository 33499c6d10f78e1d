"""ColonyTracerProvider's spans against the SDK's: the same code, the same exported spans."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider, sampling
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from telemetry._provider import ColonyTracerProvider


def exercise(tracer: trace.Tracer) -> None:
    """Every span feature Colony and its users touch."""
    with tracer.start_as_current_span(
        "root", kind=SpanKind.SERVER, attributes={"a": 1, "tags": ["x", "y"]}
    ) as root:
        root.set_attribute("b", "two")
        root.add_event("started", {"n": 3})
        child = tracer.start_span("leaf", kind=SpanKind.CLIENT, attributes={"c": 1.5})
        child.set_attributes({"d": True, "e": [1, 2]})
        child.set_status(Status(StatusCode.OK))
        child.set_status(StatusCode.ERROR, "ignored: OK is final")
        child.update_name("leaf renamed")
        child.add_link(root.get_span_context(), {"why": "test"})
        child.end()
        child.set_attribute("late", 1)  # ignored after end
        with pytest.raises(ValueError, match="boom"), tracer.start_as_current_span("failing"):
            raise ValueError("boom")
        with pytest.raises(KeyError), tracer.start_span("direct"):
            raise KeyError("k")
        unset = tracer.start_span("unset")
        unset.set_status(StatusCode.UNSET)
        unset.end()


def exported(provider: TracerProvider) -> list[dict[str, Any]]:
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    exercise(provider.get_tracer("colony-test", "1.0"))
    finished = exporter.get_finished_spans()
    names = {s.context.span_id: s.name for s in finished}
    return [describe(s, names) for s in finished]


def describe(s: ReadableSpan, names: dict[int, str]) -> dict[str, Any]:
    assert s.instrumentation_scope is not None
    events = [
        (e.name, {k: v for k, v in (e.attributes or {}).items() if k != "exception.stacktrace"})
        for e in s.events
    ]
    return {
        "name": s.name,
        "parent": None if s.parent is None else names.get(s.parent.span_id),
        "kind": s.kind,
        "attributes": dict(s.attributes or {}),
        "events": events,
        "links": [
            (names.get(link.context.span_id), dict(link.attributes or {})) for link in s.links
        ],
        "status": (s.status.status_code, s.status.description),
        "scope": (s.instrumentation_scope.name, s.instrumentation_scope.version),
        "sampled": s.context.trace_flags.sampled,
        "timed": s.start_time is not None and s.end_time is not None and s.end_time >= s.start_time,
        "resource": dict(s.resource.attributes)["service.name"],
    }


def test_colony_spans_export_as_the_sdks_do() -> None:
    ours = exported(ColonyTracerProvider())
    sdk = exported(TracerProvider())
    assert ours == sdk
    assert [s["name"] for s in ours] == ["leaf renamed", "failing", "direct", "unset", "root"]
    for failed in ours[1:3]:
        assert failed["status"][0] is StatusCode.ERROR and failed["events"][0][0] == "exception"


def test_one_trace_and_parent_links() -> None:
    exporter = InMemorySpanExporter()
    provider = ColonyTracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("a") as a, tracer.start_as_current_span("b") as b:
        assert trace.get_current_span() is b
    finished = {s.name: s for s in exporter.get_finished_spans()}
    assert finished["b"].parent == a.get_span_context()
    assert finished["a"].context.trace_id == finished["b"].context.trace_id
    assert finished["a"].context.span_id != finished["b"].context.span_id


def test_sampling_follows_the_providers_sampler() -> None:
    exporter = InMemorySpanExporter()
    provider = ColonyTracerProvider(sampler=sampling.ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("dropped") as dropped:
        assert not dropped.is_recording()
    assert exporter.get_finished_spans() == ()
    # The default sampler: an unsampled parent's children are dropped, as in the SDK.
    default = ColonyTracerProvider()
    default.add_span_processor(SimpleSpanProcessor(exporter))
    with trace.use_span(dropped):
        assert not default.get_tracer("t").start_span("child").is_recording()
    root = default.get_tracer("t").start_span("root")
    assert root.is_recording() and root.get_span_context().trace_flags.sampled
    root.end()
    assert [s.name for s in exporter.get_finished_spans()] == ["root"]


def test_links_and_disabled_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = ColonyTracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    first = tracer.start_span("first")
    first.end()
    tracer.start_span("second", links=[Link(first.get_span_context())]).end()
    (_, second) = exporter.get_finished_spans()
    assert [link.context for link in second.links] == [first.get_span_context()]
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    off = ColonyTracerProvider()
    assert isinstance(off.get_tracer("t"), trace.NoOpTracer)
