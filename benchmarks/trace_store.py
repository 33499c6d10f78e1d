"""The trace store's writer: CPU time per span, segments against a DuckDB write per batch.

Run: ``colony bench trace-store --json`` (or ``python -m benchmarks.trace_store``). Spans are
made as an agent's step makes them (``invoke_agent`` and its ``chat``, with the attributes
Colony sets) by a private :class:`telemetry.ColonyTracerProvider`. Each repeat writes
``batches`` batches of ``batch`` spans into a fresh store through
:class:`telemetry.DuckDBSpanExporter` and shuts it down (the last fold included), and the
writer thread's CPU time is divided by the spans written:

- ``segments_us_per_span``: the exporter as ``colony run`` uses it (a segment per batch,
  folded into the DuckDB file every 16 segments or 32,768 spans, and at shutdown);
- ``per_batch_us_per_span``: the same exporter folding after every batch, so the file is
  opened, written and checkpointed once per batch, as the store was written before segments.

Both are medians over ``repeats``, alternated in one process; ``speedup`` is their ratio.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from benchmarks._main import run_as_script
from memory.errors import InvalidInputError
from telemetry import Attr, ColonyTracerProvider, DuckDBSpanExporter, TraceStore
from telemetry._export import COMPACT_AFTER

__all__ = ["agent_step_spans", "main", "run_trace_store"]


def agent_step_spans(steps: int) -> list[ReadableSpan]:
    """The spans of ``steps`` agent steps: an ``invoke_agent`` span and its ``chat`` span each."""
    provider = ColonyTracerProvider()
    finished = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(finished))
    tracer = provider.get_tracer("colony")
    for step in range(steps):
        with tracer.start_as_current_span("invoke_agent writer", kind=SpanKind.INTERNAL) as agent:
            agent.set_attribute(Attr.OPERATION, "invoke_agent")
            agent.set_attribute(Attr.AGENT, "writer")
            agent.set_attribute(Attr.RUN, f"run-{step // 10}")
            agent.set_attribute("colony.team", "bench")
            agent.set_attribute("colony.agent.steps", 1)
            with tracer.start_as_current_span("chat fake", kind=SpanKind.CLIENT) as chat:
                chat.set_attribute(Attr.OPERATION, "chat")
                chat.set_attribute("gen_ai.request.model", "fake")
                chat.set_attribute("gen_ai.usage.input_tokens", 40 + step % 7)
                chat.set_attribute("gen_ai.usage.output_tokens", 12)
    provider.shutdown()
    return list(finished.get_finished_spans())


def _cpu_us_per_span(spans: Sequence[ReadableSpan], batch: int, fold_every: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "traces.duckdb"
        exporter = DuckDBSpanExporter(path, fold_every=fold_every)
        started = time.thread_time()
        for first in range(0, len(spans), batch):
            exporter.export(spans[first : first + batch])
        exporter.shutdown()
        used = time.thread_time() - started
        store = TraceStore(path, read_only=True)
        try:
            ((stored,),) = store.query("SELECT count(*) FROM spans")
        finally:
            store.close()
    if stored != len(spans):  # a benchmark of a writer that lost spans would mean nothing
        raise RuntimeError(f"the store holds {stored} spans of the {len(spans)} written")
    return 1e6 * used / len(spans)


def run_trace_store(*, batch: int = 1000, batches: int = 40, repeats: int = 3) -> dict[str, Any]:
    """Time the writer both ways; returns microseconds of CPU per span."""
    for label, value in (("batch", batch), ("batches", batches), ("repeats", repeats)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInputError(f"{label} must be an int >= 1, got {value!r}")
    spans = agent_step_spans((batch * batches + 1) // 2)[: batch * batches]
    _cpu_us_per_span(spans[:batch], batch, 1)  # warm: imports and first queries
    segments: list[float] = []
    per_batch: list[float] = []
    for _ in range(repeats):
        segments.append(_cpu_us_per_span(spans, batch, COMPACT_AFTER))
        per_batch.append(_cpu_us_per_span(spans, batch, 1))
    fast, slow = statistics.median(segments), statistics.median(per_batch)
    return {
        "batch": batch,
        "batches": batches,
        "spans": len(spans),
        "segments_us_per_span": round(fast, 1),
        "per_batch_us_per_span": round(slow, 1),
        "speedup": round(slow / fast, 2),
        "segments_runs_us": [round(x, 1) for x in segments],
        "per_batch_runs_us": [round(x, 1) for x in per_batch],
        "repeats": repeats,
    }


def summarize(result: dict[str, Any]) -> str:
    """One human line for stderr."""
    return (
        f"trace store, {result['spans']:,} spans in batches of {result['batch']:,}: "
        f"{result['segments_us_per_span']} us of CPU a span with segments, "
        f"{result['per_batch_us_per_span']} us writing the file per batch "
        f"({result['speedup']}x)"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print JSON on stdout and a summary on stderr."""
    run_as_script(run_trace_store, summarize, __doc__, argv)


if __name__ == "__main__":
    main()
