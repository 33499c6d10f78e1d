"""Traces of team runs, by the OpenTelemetry GenAI semantic conventions.

Library code (``orchestrator/``, ``agents/``, ``memory/``) opens its spans through
:mod:`telemetry._spans`, which uses the OpenTelemetry API only: until an application installs
an SDK tracer provider every span is a no-op. The trace context crosses Ray actor boundaries
explicitly (:func:`carrier` in the request, :func:`attached` on the other side), so one team
run is one trace whichever nodes its agents and its memory run on.

:func:`configure` (and :func:`tracing`) installs :class:`ColonyTracerProvider`, the SDK's
provider with a lighter span, unless the application has installed a provider of its own.

Message content (tasks, model messages, tool arguments and results, memory texts and queries)
is recorded only when ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is ``true``.
"""

from telemetry._export import (
    DuckDBSpanExporter,
    Exporting,
    OtlpTarget,
    TraceStore,
    configure,
    exporting,
    otlp_target,
    segments_folder,
    span_row,
    tracing,
)
from telemetry._provider import ColonyTracerProvider
from telemetry._relay import (
    RELAY_BATCH,
    SIGNALS,
    Wire,
    collect_for_relay,
    flush_relayed,
    outgoing,
    relay,
    split_reply,
    to_relay,
    with_outgoing,
)
from telemetry._spans import (
    CONTENT_ENV,
    TRACER_NAME,
    Attr,
    attached,
    capture_content,
    carrier,
    failed,
    ray_node,
    span,
    start,
    within,
)

__all__ = [
    "CONTENT_ENV",
    "RELAY_BATCH",
    "SIGNALS",
    "TRACER_NAME",
    "Attr",
    "ColonyTracerProvider",
    "DuckDBSpanExporter",
    "Exporting",
    "OtlpTarget",
    "TraceStore",
    "Wire",
    "attached",
    "capture_content",
    "carrier",
    "collect_for_relay",
    "configure",
    "exporting",
    "failed",
    "flush_relayed",
    "otlp_target",
    "outgoing",
    "ray_node",
    "relay",
    "segments_folder",
    "span",
    "span_row",
    "split_reply",
    "start",
    "to_relay",
    "tracing",
    "with_outgoing",
    "within",
]
