"""Traces: the span tree and attributes of a team run, by the GenAI semantic conventions."""

from __future__ import annotations

import os
import pickle
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry import baggage, context, propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from agents import Agent, ChatResponse, Message, ScriptedModel, ToolCall, Usage
from memory import HashEmbedder, MemoryService
from orchestrator import Sequential, Team
from telemetry import (
    CONTENT_ENV,
    DuckDBSpanExporter,
    OtlpTarget,
    TraceStore,
    _export,
    _relay,
    attached,
    carrier,
    collect_for_relay,
    flush_relayed,
    otlp_target,
    outgoing,
    relay,
    segments_folder,
    span,
    span_row,
    split_reply,
    tracing,
    with_outgoing,
)
from telemetry._provider import ColonyTracerProvider
from telemetry._relay import from_wire, to_wire

_EXPORTER = InMemorySpanExporter()
REPO = Path(__file__).resolve().parents[2]


class _WhileTesting(SimpleSpanProcessor):
    """Exports only while a test here records, so other tests' spans do not pile up."""

    on = False

    def on_end(self, span: ReadableSpan) -> None:
        if _WhileTesting.on:
            super().on_end(span)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = ColonyTracerProvider()  # what colony run installs
        trace.set_tracer_provider(provider)
    if not getattr(provider, "_colony_test_processor", False):
        provider.add_span_processor(_WhileTesting(_EXPORTER))
        provider._colony_test_processor = True  # type: ignore[attr-defined]
    _EXPORTER.clear()
    _WhileTesting.on = True
    try:
        yield _EXPORTER
    finally:
        _WhileTesting.on = False
        _EXPORTER.clear()


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def reply(text: str, prompt: int, completion: int) -> ChatResponse:
    return ChatResponse(Message("assistant", text), Usage(prompt, completion))


def two_agent_team(memory: MemoryService | str) -> Team:
    calc = ScriptedModel(
        [
            ChatResponse(
                Message("assistant", "", tool_calls=[ToolCall("c1", "add", {"a": 2, "b": 3})]),
                Usage(11, 4),
            ),
            reply("2 + 3 = 5", 20, 6),
        ]
    )
    writer = ScriptedModel([reply("The answer is 5.", 30, 8)])
    return Team(
        "sums",
        [
            Agent("calc", "Compute.", calc, tools=[add], writes=("team", "sums", "notes")),
            Agent("writer", "Write.", writer, reads=(("team", "sums"),)),
        ],
        flow=Sequential(),
        memory=memory,
        checkpoints=":memory:",
    )


def by_name(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name == name]


def only(finished: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    found = by_name(finished, name)
    assert len(found) == 1, (name, [s.name for s in finished])
    return found[0]


def parent_of(child: ReadableSpan) -> int | None:
    return None if child.parent is None else child.parent.span_id


def test_a_two_agent_run_is_one_trace_with_the_genai_span_tree(
    spans: InMemorySpanExporter,
) -> None:
    with MemoryService.open(embedder=HashEmbedder()) as memory:
        result = two_agent_team(memory).run("What is 2 + 3?")
    assert result.status == "done"
    finished = spans.get_finished_spans()
    assert len({s.context.trace_id for s in finished}) == 1

    root = only(finished, "invoke_workflow sums")
    assert root.parent is None and root.kind is SpanKind.INTERNAL
    attrs: dict[str, Any] = dict(root.attributes or {})
    assert attrs["gen_ai.operation.name"] == "invoke_workflow"
    assert attrs["gen_ai.workflow.name"] == "sums"
    assert attrs["colony.run.id"] == result.thread_id == attrs["gen_ai.conversation.id"]
    assert attrs["colony.run.status"] == "done" and attrs["colony.agent.steps"] == 2
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (61, 18)

    for name, tokens in (("calc", (31, 10)), ("writer", (30, 8))):
        # In-process there is no call to another process: one INTERNAL span per step (the
        # Ray runtime adds the caller's CLIENT span; see tests/integration/test_team_cluster).
        inner = only(finished, f"invoke_agent {name}")
        assert inner.kind is SpanKind.INTERNAL and parent_of(inner) == root.context.span_id
        a = dict(inner.attributes or {})
        assert a["gen_ai.operation.name"] == "invoke_agent" and a["gen_ai.agent.name"] == name
        assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == tokens

    calc_inner = only(finished, "invoke_agent calc")
    chats = by_name(finished, "chat ScriptedModel")
    calc_chats = [c for c in chats if parent_of(c) == calc_inner.context.span_id]
    assert len(chats) == 3 and len(calc_chats) == 2
    first = dict(calc_chats[0].attributes or {})
    assert first["gen_ai.provider.name"] == "colony.scripted"
    assert calc_chats[0].kind is SpanKind.CLIENT
    assert (first["gen_ai.usage.input_tokens"], first["gen_ai.usage.output_tokens"]) == (11, 4)

    tool = only(finished, "execute_tool add")
    assert parent_of(tool) == calc_inner.context.span_id
    assert dict(tool.attributes or {})["gen_ai.tool.call.id"] == "c1"
    assert tool.status.status_code is not StatusCode.ERROR

    # calc's answer is written to the team's notes: a memory span inside calc's step.
    writes = [
        s
        for s in by_name(finished, "create_memory :memory:")
        if dict(s.attributes or {}).get("gen_ai.memory.namespace") == "team/sums/notes"
    ]
    assert len(writes) == 1
    assert parent_of(writes[0]) == calc_inner.context.span_id
    assert dict(writes[0].attributes or {})["gen_ai.memory.store.id"] == ":memory:"
    searches = by_name(finished, "search_memory :memory:")
    assert searches
    assert all("gen_ai.memory.record.count" in (s.attributes or {}) for s in searches)

    # No message content unless the user turns it on.
    assert not any("gen_ai.input.messages" in (s.attributes or {}) for s in finished)
    assert not any("gen_ai.memory.records" in (s.attributes or {}) for s in finished)


def test_message_content_is_recorded_only_when_turned_on(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTENT_ENV, "true")
    with MemoryService.open(embedder=HashEmbedder()) as memory:
        two_agent_team(memory).run("What is 2 + 3?")
    finished = spans.get_finished_spans()
    root = only(finished, "invoke_workflow sums")
    assert "What is 2 + 3?" in str(dict(root.attributes or {})["gen_ai.input.messages"])
    tool = dict(only(finished, "execute_tool add").attributes or {})
    assert tool["gen_ai.tool.call.result"] == "5"
    chat_outputs = [
        str(dict(s.attributes or {}).get("gen_ai.output.messages"))
        for s in by_name(finished, "chat ScriptedModel")
    ]
    assert any("The answer is 5." in text for text in chat_outputs)


def test_a_failing_tool_marks_its_span_and_the_run_goes_on(spans: InMemorySpanExporter) -> None:
    def broken(x: str) -> str:
        """Always fails."""
        raise ValueError(f"cannot use {x}")

    model = ScriptedModel(
        [
            ChatResponse(
                Message("assistant", "", tool_calls=[ToolCall("c9", "broken", {"x": "y"})])
            ),
            "I could not do it.",
        ]
    )
    team = Team("t", [Agent("solo", "Try.", model, tools=[broken])], checkpoints=":memory:")
    assert team.run("Try it").status == "done"
    tool = only(spans.get_finished_spans(), "execute_tool broken")
    assert tool.status.status_code is StatusCode.ERROR
    assert dict(tool.attributes or {})["error.type"] == "tool_error"


def test_the_trace_context_crosses_a_process_boundary_as_headers(
    spans: InMemorySpanExporter,
) -> None:
    with span("invoke_agent", "caller") as outer:
        headers = carrier()
    assert headers["traceparent"].split("-")[2] == format(outer.get_span_context().span_id, "016x")
    with attached(headers), span("invoke_agent", "callee") as inner:
        pass
    parent = inner.parent  # type: ignore[attr-defined]
    assert parent is not None and parent.span_id == outer.get_span_context().span_id
    with attached({}), span("invoke_agent", "alone") as alone:
        pass
    assert alone.parent is None  # type: ignore[attr-defined]
    # No headers (a caller in the same thread): the current context stays as it is.
    with span("invoke_workflow", "t") as run, attached({}), span("invoke_agent", "local") as local:
        pass
    parent = local.parent  # type: ignore[attr-defined]
    assert parent is not None and parent.span_id == run.get_span_context().span_id


def test_the_trace_context_headers_are_those_the_propagators_write_and_read(
    spans: InMemorySpanExporter,
) -> None:
    # carrier() and attached() write and read a lone traceparent themselves: as propagate's.
    def current() -> trace.SpanContext:
        return trace.get_current_span().get_span_context()

    with span("invoke_agent", "caller"):
        theirs: dict[str, str] = {}
        propagate.inject(theirs)
        assert carrier() == theirs
    token = context.attach(baggage.set_baggage("tenant", "north"))
    try:
        with span("invoke_agent", "caller"):
            theirs = {}
            propagate.inject(theirs)
            assert carrier() == theirs and "baggage" in theirs
    finally:
        context.detach(token)
    trace_id, span_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    for headers in [
        {"traceparent": f"00-{trace_id}-{span_id}-01"},
        {"traceparent": f"00-{trace_id}-{span_id}-00"},
        {"traceparent": f"00-{trace_id.upper()}-{span_id}-01"},
        {"traceparent": f"00-{'0' * 32}-{span_id}-01"},
        {"traceparent": f"00-{trace_id}-{'0' * 16}-01"},
        {"traceparent": f"ff-{trace_id}-{span_id}-01"},
        {"traceparent": f"00-{trace_id}-{span_id}-01-extra"},
        {"traceparent": f" 00-{trace_id}-{span_id}-01"},
        {"traceparent": "not a traceparent"},
        {"traceparent": f"00-{trace_id}-{span_id}-01", "tracestate": "vendor=1"},
    ]:
        with attached(headers):
            ours = current()
        assert ours == trace.get_current_span(propagate.extract(headers)).get_span_context()
    # Propagators without tracecontext (OTEL_PROPAGATORS=baggage) write no traceparent.
    default = propagate.get_global_textmap()
    propagate.set_global_textmap(W3CBaggagePropagator())
    try:
        with span("invoke_agent", "caller"):
            assert carrier() == {}
    finally:
        propagate.set_global_textmap(default)


def test_a_reply_brings_its_spans_home_in_its_bytes_and_the_inbox_exports_them(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    with span("execute_tool", "add", attributes={"gen_ai.tool.call.id": "c1"}):
        pass
    (finished,) = spans.get_finished_spans()
    assert with_outgoing(b'{"ok":1}') == b'{"ok":1}'  # nothing to send: the reply as it is
    assert split_reply(b'{"ok":1}') == (b'{"ok":1}', None)
    actor = _relay._Outbox()  # an actor's outbox, holding the span it finished
    monkeypatch.setattr(_relay, "_OUTBOX", actor)
    actor.on_end(finished)
    answer = with_outgoing(b'{"ok":1}')
    assert outgoing() == []  # sent
    relay(split_reply(answer)[1])  # an actor forwards what it received with its own reply
    assert [w[:3] for w in outgoing()] == [(finished.name, *finished.context[:2])]
    monkeypatch.setattr(_relay, "_OUTBOX", None)  # the driver
    received = InMemorySpanExporter()
    routes = _export._routes("colony")
    processor = SimpleSpanProcessor(received)
    routes.add(processor)
    try:
        reply, telemetry = split_reply(answer)
        assert reply == b'{"ok":1}'
        relay(telemetry)
        flush_relayed()  # what the next step does before it waits for its reply
        assert [span_row(s) for s in received.get_finished_spans()] == [span_row(finished)]
        received.clear()
        relay(telemetry)  # with no next step, the inbox's thread exports it soon after
        deadline = time.monotonic() + 10
        while not received.get_finished_spans() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [span_row(s) for s in received.get_finished_spans()] == [span_row(finished)]
        received.clear()
        relay(telemetry)
        routes.force_flush()  # any flush of the exporters hands the inbox's over first
        assert len(received.get_finished_spans()) == 1
    finally:
        routes.remove(processor)


def test_an_error_ends_the_span_failed_and_propagates(spans: InMemorySpanExporter) -> None:
    with pytest.raises(KeyError), span("chat", "m"):
        raise KeyError("boom")
    failed = only(spans.get_finished_spans(), "chat m")
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes or {})["error.type"] == "KeyError"


class _Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps every decoded export request."""

    received: ClassVar[list[ExportTraceServiceRequest]] = []
    metrics: ClassVar[list[ExportMetricsServiceRequest]] = []
    traces_paths: ClassVar[set[str]] = {"/v1/traces"}  # where spans are taken
    posted: ClassVar[set[str]] = set()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Collector.posted.add(self.path)
        reply: Any = None
        if self.path in _Collector.traces_paths:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            _Collector.received.append(request)
            reply = ExportTraceServiceResponse()
        elif self.path == "/v1/metrics":
            metrics = ExportMetricsServiceRequest()
            metrics.ParseFromString(body)
            _Collector.metrics.append(metrics)
            reply = ExportMetricsServiceResponse()
        self.send_response(404 if reply is None else 200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        if reply is not None:
            self.wfile.write(reply.SerializeToString())

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _spans_received() -> list[Any]:
    return [
        span
        for request in _Collector.received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]


@pytest.fixture
def collector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Collector.received = []
    _Collector.metrics = []
    _Collector.traces_paths = {"/v1/traces"}
    _Collector.posted = set()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_run_is_exported_over_otlp_http_and_to_the_trace_store(
    collector: str, tmp_path: Path
) -> None:
    store_path = tmp_path / "traces.duckdb"
    with (
        # Metrics have a test of their own, in a process of its own (see below).
        tracing(trace_store=store_path, otlp=collector, metrics_too=False) as exporting,
        MemoryService.open(embedder=HashEmbedder()) as memory,
    ):
        assert exporting is not None and exporting.otlp == collector
        result = two_agent_team(memory).run("What is 2 + 3?")
    names = [span.name for span in _spans_received()]
    assert "invoke_workflow sums" in names and "execute_tool add" in names
    assert names.count("invoke_agent calc") == 1
    store = TraceStore(store_path, read_only=True)
    rows = store.query("SELECT name, run_id FROM spans WHERE parent_id IS NULL")
    count = store.query("SELECT count(*) FROM spans")[0][0]
    store.close()
    assert rows == [("invoke_workflow sums", result.thread_id)]
    assert count == len(names)  # the same spans went both ways


def test_an_unreachable_collector_does_not_break_or_hold_up_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    started = time.monotonic()
    with (
        tracing(otlp=f"http://127.0.0.1:{port}", metrics_too=False),
        MemoryService.open(embedder=HashEmbedder()) as memory,
    ):
        assert two_agent_team(memory).run("What is 2 + 3?").status == "done"
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("endpoint", "said"),
    [
        ("notaurl", "not an http(s) URL such as http://127.0.0.1:4318"),
        ("ftp://127.0.0.1:4318", "not an http(s) URL"),
        ("http://:4318", "not an http(s) URL"),
        ("http://127.0.0.1:99999", "Port out of range"),
    ],
)
def test_a_malformed_endpoint_is_named_and_the_run_goes_on_without_it(
    endpoint: str, said: str, tmp_path: Path
) -> None:
    with tracing(trace_store=tmp_path / "t.duckdb", otlp=endpoint, metrics_too=False) as on:
        assert on is not None and on.otlp is None
        (problem,) = on.problems
        assert problem.startswith(f"no OTLP export to {endpoint!r}: {said}"), problem
        assert on.trace_store == tmp_path / "t.duckdb"  # the other destination stands
        with MemoryService.open(embedder=HashEmbedder()) as memory:
            assert two_agent_team(memory).run("What is 2 + 3?").status == "done"


def _free_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


OTLP_VARIABLES = [f"OTEL_EXPORTER_OTLP_{s}ENDPOINT" for s in ("", "TRACES_", "METRICS_")]


@pytest.mark.parametrize(
    ("explicit", "variables", "expected"),
    [
        (None, {}, None),
        ("http://h:1", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:2"},
         ("http://h:1", "http://h:1/v1/traces", "http://h:1/v1/metrics")),
        ("http://h:1/v1/traces", {},
         ("http://h:1/v1/traces", "http://h:1/v1/traces", "http://h:1/v1/metrics")),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:2/otlp/"},
         ("http://e:2/otlp", "http://e:2/otlp/v1/traces", "http://e:2/otlp/v1/metrics")),
        (None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:3/spans"},
         ("http://t:3/spans", "http://t:3/spans", None)),
        (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://e:2",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:3/spans",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://m:4/points"},
         ("http://t:3/spans", "http://t:3/spans", "http://m:4/points")),
        (None, {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://m:4/points"}, None),
    ],
)  # fmt: skip
def test_the_otlp_variables_are_read_as_the_specification_says(
    explicit: str | None,
    variables: dict[str, str],
    expected: tuple[str, str, str | None] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in OTLP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert otlp_target(explicit) == (expected and OtlpTarget(*expected))


def test_the_traces_endpoint_variable_wins_and_is_used_as_given(
    collector: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector + "/otlp/spans")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    _Collector.traces_paths = {"/otlp/spans"}
    with tracing(metrics_too=False) as on, MemoryService.open(embedder=HashEmbedder()) as memory:
        assert on is not None and on.otlp == collector + "/otlp/spans" and on.problems == []
        two_agent_team(memory).run("What is 2 + 3?")
    assert _Collector.posted == {"/otlp/spans"}
    assert any(s.name == "invoke_workflow sums" for s in _spans_received())


@pytest.mark.parametrize("value", ["soon", "0", "-3", "inf"])
def test_a_bad_otlp_timeout_is_named_and_the_run_goes_on(
    value: str, collector: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", value)
    with (
        tracing(otlp=collector, metrics_too=False) as on,
        MemoryService.open(embedder=HashEmbedder()) as memory,
    ):
        assert on is not None and on.otlp == collector
        assert on.problems == [
            f"OTEL_EXPORTER_OTLP_TIMEOUT={value!r} is not a positive number of seconds; using 5"
        ]
        assert two_agent_team(memory).run("What is 2 + 3?").status == "done"
    assert any(s.name == "invoke_workflow sums" for s in _spans_received())


def test_a_signal_reads_its_own_timeout_first_and_a_bad_one_is_said_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2.5")
    problems: list[str] = []
    assert _export._otlp_timeout("TRACES", problems) == 5.0
    assert _export._otlp_timeout("METRICS", problems) == 2.5
    assert _export._otlp_timeout("TRACES", problems) == 5.0
    assert problems == [
        "OTEL_EXPORTER_OTLP_TIMEOUT='soon' is not a positive number of seconds; using 5"
    ]


def test_a_file_that_is_not_a_trace_store_is_neither_read_nor_written(tmp_path: Path) -> None:
    import duckdb

    from memory import SYSTEM

    path = tmp_path / "memory.duckdb"
    with MemoryService.open(path, embedder=HashEmbedder()) as memory:
        memory.add("Ana lives in Lisbon", principal=SYSTEM, namespace=("team", "t"))
    said = f"{str(path)!r} is not a trace store: it holds the tables colony_migrations, edges"
    for read_only in (True, False):
        with pytest.raises(ValueError, match=re.escape(said)):
            TraceStore(path, read_only=read_only)
    with tracing(trace_store=path, metrics_too=False) as on:  # a run goes on without it
        assert on is not None and on.trace_store is None
        (problem,) = on.problems
        assert problem.startswith(f"no trace store at {path}: ValueError: {said}")
    with duckdb.connect(str(path), read_only=True) as db:
        tables = {
            name for (name,) in db.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        }
    assert "spans" not in tables
    with MemoryService.open(path, embedder=HashEmbedder()) as memory:
        assert memory.stats()["current"] == 1


def test_a_span_crosses_a_process_as_plain_data(spans: InMemorySpanExporter) -> None:
    with span("execute_tool", "add", attributes={"gen_ai.tool.call.id": "c1"}) as current:
        current.add_event("retry", {"attempt": 2})
    (finished,) = spans.get_finished_spans()
    wired = pickle.loads(pickle.dumps(to_wire(finished)))  # what Ray ships between processes
    assert span_row(from_wire(wired)) == span_row(finished)


def test_an_actor_outbox_wires_colony_spans_as_it_wires_sdk_ones() -> None:
    # With only light processors (an actor's outbox), a span's end hands over the span
    # itself; with any other processor too, a ReadableSpan. The wire is the same.
    def wired(*extra: SpanProcessor) -> list[Any]:
        provider = ColonyTracerProvider(resource=Resource({"service.name": "s"}))
        outbox = _relay._Outbox()
        for processor in (outbox, *extra):
            provider.add_span_processor(processor)
        tracer = provider.get_tracer("colony", "1")
        with tracer.start_as_current_span("invoke_agent a", kind=SpanKind.SERVER) as outer:
            outer.set_attribute("gen_ai.agent.name", "a")
            with tracer.start_as_current_span("chat m", attributes={"n": [1, 2]}) as inner:
                inner.add_event("retry", {"attempt": 2})
                inner.set_status(StatusCode.ERROR, "boom")
        spans = outbox.drain()
        assert len(spans) == 2
        # ids and times differ from run to run; the parent link must hold
        assert spans[0][4] == spans[1][2] and spans[1][4] is None
        return [(w[0], *w[3:4], *w[5:8], w[10], [e[::2] for e in w[11]], *w[12:]) for w in spans]

    light = wired()
    assert light == wired(SimpleSpanProcessor(InMemorySpanExporter()))
    assert light[0][5] == {"n": (1, 2)} and light[0][6] == [("retry", {"attempt": 2})]


METRICS_RUN = """
import sys
from memory import HashEmbedder, MemoryService
from telemetry import tracing
from tests.unit.test_telemetry import two_agent_team

collector, runtime, store = sys.argv[1:]
with tracing(otlp=collector):
    if runtime == "local":
        with MemoryService.open(embedder=HashEmbedder()) as memory:
            two_agent_team(memory).run("What is 2 + 3?")
    else:  # agents and memory in actors: their measurements travel home with the replies
        two_agent_team(store).run("What is 2 + 3?", runtime="ray")
"""


@pytest.mark.parametrize("runtime", ["local", pytest.param("ray", marks=pytest.mark.integration)])
def test_metrics_of_a_run_reach_the_otlp_endpoint(
    collector: str, runtime: str, tmp_path: Path
) -> None:
    # A process of its own: a process gets one meter provider, made with its readers.
    subprocess.run(
        [sys.executable, "-c", METRICS_RUN, collector, runtime, str(tmp_path / "memory.duckdb")],
        check=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "COLONY_EMBEDDER": "hash"},
    )
    points: dict[str, list[Any]] = {}
    for request in _Collector.metrics:  # cumulative: each export repeats the totals so far
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    points[metric.name] = list(getattr(metric, kind).data_points)

    def labels(point: Any) -> dict[str, Any]:
        return {a.key: a.value.string_value or a.value.bool_value for a in point.attributes}

    steps = {labels(p)["gen_ai.agent.name"]: p.as_int for p in points["colony.agent.steps"]}
    assert steps == {"calc": 1, "writer": 1}
    tokens = {labels(p)["gen_ai.token.type"]: 0 for p in points["gen_ai.client.token.usage"]}
    for point in points["gen_ai.client.token.usage"]:
        tokens[labels(point)["gen_ai.token.type"]] += int(point.sum)
    assert tokens == {"input": 61, "output": 18}
    assert sum(p.as_int for p in points["colony.model.calls"]) == 3
    assert sum(p.count for p in points["gen_ai.client.operation.duration"]) == 3
    assert [labels(p)["gen_ai.tool.name"] for p in points["colony.tool.calls"]] == ["add"]
    operations = {labels(p)["gen_ai.operation.name"] for p in points["colony.memory.operations"]}
    assert {"create_memory", "search_memory"} <= operations
    assert sum(p.count for p in points["colony.memory.operation.duration"]) == sum(
        p.as_int for p in points["colony.memory.operations"]
    )


READ_AND_HOLD = """
import sys, time
from telemetry import TraceStore
store = TraceStore(sys.argv[1], read_only=True)
print(store.query("SELECT count(*) FROM spans")[0][0], flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_the_trace_store_writes_segments_that_readers_see_and_folds_them_in_later(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    with span("invoke_agent", "a"), span("chat", "m"):
        pass
    first, second = spans.get_finished_spans()
    path = tmp_path / "traces.duckdb"
    exporter = DuckDBSpanExporter(path)
    assert exporter.export([first]).name == "SUCCESS"
    assert len(list(segments_folder(path).glob("*.json"))) == 1
    # Another process (a dashboard) reads while the exporter is alive, segments included.
    read = [sys.executable, "-c", READ_AND_HOLD, str(path)]
    assert subprocess.run([*read, "0"], capture_output=True, text=True, check=True).stdout == "1\n"
    with subprocess.Popen([*read, "2"], stdout=subprocess.PIPE, text=True) as reader:
        assert reader.stdout is not None and reader.stdout.readline() == "1\n"
        assert exporter.export([second]).name == "SUCCESS"  # a segment needs no lock
        assert exporter.compact(patience_s=0.0) is False  # the reader holds the file: kept
        reader.wait(timeout=30)
    assert subprocess.run([*read, "0"], capture_output=True, text=True, check=True).stdout == "2\n"
    exporter.shutdown()  # folds the segments in
    assert list(segments_folder(path).iterdir()) == []
    assert stored(path, "SELECT name FROM spans ORDER BY start_ns") == [
        ("invoke_agent a",),
        ("chat m",),
    ]
    assert stored(path, "SELECT count(*) FROM span_segments") == [(0,)]


def stored(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` over the trace store ``path``, opened read-only as a reader does."""
    store = TraceStore(path, read_only=True)
    try:
        return store.query(sql)
    finally:
        store.close()


def one_segment(spans: InMemorySpanExporter, tmp_path: Path) -> tuple[Path, DuckDBSpanExporter]:
    """A trace store whose exporter has written one segment: an agent span and its chat."""
    with span("invoke_agent", "a"), span("chat", "m"):
        pass
    path = tmp_path / "traces.duckdb"
    exporter = DuckDBSpanExporter(path)
    exporter.export(spans.get_finished_spans())
    return path, exporter


def test_a_segment_folded_in_but_not_deleted_is_never_counted_twice(
    spans: InMemorySpanExporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, exporter = one_segment(spans, tmp_path)
    # The process dies between the fold's commit and the segment's deletion.
    with monkeypatch.context() as patched:
        patched.setattr(Path, "unlink", lambda *_, **__: (_ for _ in ()).throw(OSError("killed")))
        store = TraceStore(path)
        with pytest.raises(OSError, match="killed"):
            store.compact()
        store.close()
    assert len(list(segments_folder(path).glob("*.json"))) == 1  # still there
    assert stored(path, "SELECT count(*) FROM spans") == [(2,)]  # read once, from the file
    assert exporter.compact() is True  # deletes it without folding it in again
    assert list(segments_folder(path).glob("*.json")) == []
    assert stored(path, "SELECT count(*) FROM spans") == [(2,)]
    assert stored(path, "SELECT count(*) FROM span_segments") == [(0,)]


def test_a_damaged_segment_is_set_aside_and_never_stops_the_others(
    spans: InMemorySpanExporter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, exporter = one_segment(spans, tmp_path)
    folder = segments_folder(path)
    (folder / "0-damaged.json").write_text('[{"trace_id": "t", "span_id')  # cut short
    abandoned, fresh = folder / ".1-dead.json.partial", folder / ".2-live.json.partial"
    abandoned.write_text("[")
    fresh.write_text("[")
    os.utime(abandoned, (time.time() - 7200, time.time() - 7200))
    assert exporter.compact() is True
    assert "0-damaged.json is damaged" in caplog.text
    assert sorted(p.name for p in folder.iterdir()) == [fresh.name, "0-damaged.json.bad"]
    assert stored(path, "SELECT name FROM spans ORDER BY start_ns") == [
        ("invoke_agent a",),
        ("chat m",),
    ]


WRITE_ALONE = """
import shutil, sys
from pathlib import Path
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from telemetry import DuckDBSpanExporter, TraceStore, segments_folder
memory = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(memory))
with provider.get_tracer("t").start_as_current_span("invoke_agent a"):
    pass
finished = memory.get_finished_spans()
exporter = DuckDBSpanExporter(sys.argv[1], fold_every=2)
exporter.export(finished)
(segment,) = segments_folder(sys.argv[1]).glob("*.json")
shutil.copy(segment, segment.with_name("it's a copy.json"))
exporter.export(finished)  # the second segment: all three are folded in
exporter.shutdown()
print(sorted(m for m in ("numpy", "pandas", "pyarrow") if m in sys.modules))
store = TraceStore(sys.argv[1])
(counts,) = store.query("SELECT count(*), (SELECT count(*) FROM span_segments) FROM spans")
print(*counts)
"""


def test_the_trace_store_writes_without_importing_numpy_pandas_or_pyarrow(tmp_path: Path) -> None:
    # DuckDB imports all three for a query's first parameter, ~0.4 s of CPU: the writer
    # quotes its few texts itself (a file name with a quote in it included).
    path = tmp_path / "traces.duckdb"
    done = subprocess.run(
        [sys.executable, "-c", WRITE_ALONE, str(path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["[]", "3 0"]
    assert list(segments_folder(path).iterdir()) == []


def test_the_trace_store_writes_large_batches_and_counts_its_work(
    spans: InMemorySpanExporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with span("invoke_agent", "a"), span("chat", "m"):
        pass
    with tracing(trace_store=tmp_path / "traces.duckdb") as exporting:
        assert exporting is not None and exporting.store_exporter is not None
        (processor,) = exporting.processors
        assert processor._batch_processor._max_export_batch_size == _export.STORE_BATCH_SPANS  # type: ignore[attr-defined]
        store = exporting.store_exporter
        assert store.export(spans.get_finished_spans()).name == "SUCCESS"
        assert store.written == 2 and store.busy_s > 0
        assert store.compact() is True
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "1024")  # the standard variables win
    assert _export._store_batches() == (None, None)


def test_relaying_an_unknown_signal_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown telemetry signals \['logs'\]"):
        collect_for_relay(["spans", "logs"])
    assert outgoing() == []  # nothing was switched on
