"""Where spans go: the embedded trace store (a DuckDB file), OTLP/HTTP, or both.

Applications (the ``colony`` CLI, a user's script) call :func:`configure`; library code never
does. A failing exporter never breaks a run: the SDK's span processors catch and log what an
exporter raises, and :class:`DuckDBSpanExporter` reports a failed batch instead of raising.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import orjson
from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from telemetry._provider import ColonyTracerProvider
from telemetry._spans import Attr

_log = logging.getLogger(__name__)

OTLP_TIMEOUT_S = 5.0  # a short deadline: an unreachable collector must not hold a run's exit

SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_id VARCHAR,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    start_ns BIGINT NOT NULL,
    end_ns BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    status_message VARCHAR,
    operation VARCHAR,
    run_id VARCHAR,
    agent VARCHAR,
    service VARCHAR,
    node VARCHAR,
    attributes JSON NOT NULL,
    events JSON NOT NULL,
    resource JSON NOT NULL
)
"""


_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_id",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "status",
    "status_message",
    "operation",
    "run_id",
    "agent",
    "service",
    "node",
    "attributes",
    "events",
    "resource",
)


_JSON_COLUMNS = frozenset({"attributes", "events", "resource"})

# How a reader reads the segments' lines: the table's columns and types.
_SEGMENT_COLUMNS = (
    "{"
    + ", ".join(
        f"'{name}': '"
        + ("BIGINT" if name.endswith("_ns") else "JSON" if name in _JSON_COLUMNS else "VARCHAR")
        + "'"
        for name in _COLUMNS
    )
    + "}"
)


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One span as a row of the ``spans`` table, by column; the JSON columns as values."""
    context = span.get_span_context()
    assert context is not None  # a span the SDK finished always has one
    # A plain copy: orjson writes a dict at once, where a read-only mapping costs it a call.
    attributes: dict[str, Any] = dict(span.attributes or {})
    resource = span.resource
    resource_attributes = resource.attributes if resource is not None else {}
    return {
        "trace_id": f"{context.trace_id:032x}",
        "span_id": f"{context.span_id:016x}",
        "parent_id": f"{span.parent.span_id:016x}" if span.parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "start_ns": span.start_time or 0,
        "end_ns": span.end_time or span.start_time or 0,
        "status": span.status.status_code.name,
        "status_message": span.status.description,
        "operation": attributes.get(Attr.OPERATION),
        "run_id": attributes.get(Attr.RUN),
        "agent": attributes.get(Attr.AGENT),
        "service": resource_attributes.get("service.name"),
        "node": attributes.get(Attr.NODE) or resource_attributes.get(Attr.NODE),
        "attributes": attributes,
        "events": [
            {"name": event.name, "time_ns": event.timestamp, "attributes": event.attributes}
            for event in span.events
        ],
        "resource": orjson.Fragment(_resource_json(resource)),
    }


def span_row(span: ReadableSpan) -> tuple[Any, ...]:
    """One span as a row of the ``spans`` table (the JSON columns as JSON text)."""
    return tuple(
        _json(value) if name in _JSON_COLUMNS else value
        for name, value in span_record(span).items()
    )


def span_segment(spans: Sequence[ReadableSpan]) -> bytes:
    """``spans`` as a JSON array of rows of the ``spans`` table: a segment's content. One
    array, not a line per span: orjson writes 2,000 spans' rows in ~0.3 µs a span at once,
    against ~4 µs a span a call at a time."""
    return orjson.dumps([span_record(s) for s in spans], default=_plain)


def _json(value: object) -> str:
    """``value`` as JSON. orjson, as the export runs beside the run and holds the GIL while it
    writes: a span's attributes take ~1.5 µs, against ~8 µs with :func:`json.dumps`."""
    return orjson.dumps(value, default=_plain).decode()


def _plain(value: object) -> object:
    """What orjson cannot write itself: the SDK's read-only attribute mappings."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# A process's spans share one or a few resources: each is written as JSON once.
_RESOURCE_JSON: dict[int, tuple[Resource, str]] = {}


def _resource_json(resource: Resource | None) -> str:
    if resource is None:
        return "{}"
    known = _RESOURCE_JSON.get(id(resource))
    if known is None or known[0] is not resource:
        if len(_RESOURCE_JSON) > 64:  # relayed resources come and go with their actors
            _RESOURCE_JSON.clear()
        known = (resource, _json(resource.attributes))
        _RESOURCE_JSON[id(resource)] = known
    return known[1]


SEGMENTS = "span_segments"  # the ledger of segment files already folded into ``spans``

LEDGER = f"""
CREATE TABLE IF NOT EXISTS {SEGMENTS} (name VARCHAR PRIMARY KEY)
"""

# A writer folds its segments into the file when this many have gathered, or this many spans.
# Readers parse the segments on every query: beside 1,000,000 spans in the file, the
# dashboard's runs page takes ~60 ms with no segment, ~120 ms with 16,000 spans in segments
# and ~330 ms with 64,000. Folding more often costs the writer more: each fold checkpoints
# the table's last row group again (batches of 5,000 spans: ~18 us a span folded every
# 65,536 spans, ~27 us every 16,384, timed as `colony bench trace-store` times the writer).
COMPACT_AFTER = 16
COMPACT_SPANS = 32_768
PARTIAL_TTL_S = 3600.0  # a segment still being written after this long was abandoned


def segments_folder(path: str | os.PathLike[str]) -> Path:
    """Where the writers of the trace store ``path`` put their segments: ``<path>.segments``."""
    path = Path(path)
    return path.with_name(path.name + ".segments")


def _literals(texts: Iterable[object]) -> str:
    """``texts`` as SQL string literals, comma-separated. The store's writes take no query
    parameters: DuckDB's first parameter in a process imports numpy, pandas and pyarrow to
    read it, ~0.4 s of CPU, where the trace store writes a few thousand spans in that time."""
    return ", ".join("'" + str(text).replace("'", "''") + "'" for text in texts)


def _read_segments(paths: Sequence[Path]) -> str:
    """SQL that reads the segment files ``paths`` as rows of the ``spans`` table."""
    return f"read_json([{_literals(paths)}], format='array', columns={_SEGMENT_COLUMNS})"


def _refuse_other_files(conn: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A DuckDB file holding tables but no ``spans`` belongs to something else (a memory
    store given as the trace store): it is neither read as an empty trace store nor written
    into.

    Raises:
        ValueError: naming the file and what it holds.
    """
    tables = sorted(
        name
        for (name,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND NOT temporary"
        ).fetchall()
    )
    if tables and "spans" not in tables:
        held = ", ".join(tables[:4]) + (", ..." if len(tables) > 4 else "")
        raise ValueError(
            f"{str(path)!r} is not a trace store: it holds the tables {held} and no spans; "
            "give the file `colony run` writes (traces.duckdb beside the memory store)"
        )


class TraceStore:
    """The embedded trace store: spans in one DuckDB file (what ``colony dashboard`` reads).

    A running process does not write the file itself: each batch of its spans goes to a
    segment in :func:`segments_folder` (no lock, no checkpoint), and the segments are
    folded into the file now and then and when the process ends (:meth:`compact`). A reader
    sees both: opened read-only, the store's ``spans`` is a view over the table and the
    segments not folded in yet. One process holds the file read-write at a time (DuckDB's
    rule); readers open it read-only.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, read_only: bool = False, threads: int | None = None
    ) -> None:
        self.path = Path(path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, str | bool | int | float | list[str]] = {}
        if threads is not None:
            config["threads"] = threads
        self._conn = duckdb.connect(str(self.path), read_only=read_only, config=config)
        try:
            _refuse_other_files(self._conn, self.path)
        except BaseException:
            self._conn.close()
            raise
        self._lock = threading.Lock()
        if read_only:
            self._see_segments()
        else:
            self._conn.execute(SCHEMA)
            self._conn.execute(LEDGER)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open connection (read-only stores: ``spans`` includes unfolded segments)."""
        return self._conn

    def _pending_segments(self) -> tuple[list[Path], set[str]]:
        """The segment files not yet folded in, and the folded ones' names."""
        folder = segments_folder(self.path)
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        if not files:
            return [], set()
        try:
            folded = {
                name for (name,) in self._conn.execute(f"SELECT name FROM {SEGMENTS}").fetchall()
            }
        except duckdb.CatalogException:  # a store from before segments
            folded = set()
        return [f for f in files if f.name not in folded], folded

    def _see_segments(self) -> None:
        # The writer folds segments in and deletes them while it holds the file, which this
        # read-only connection now keeps it from: the listing stays true while it is open.
        pending, _ = self._pending_segments()
        if not pending:
            return
        (database,) = self._conn.execute("SELECT current_database()").fetchone() or ("",)
        table = '"' + str(database).replace('"', '""') + '".main.spans'
        self._conn.execute(
            f"""CREATE TEMP VIEW spans AS SELECT * FROM {table} UNION ALL
            SELECT * FROM {_read_segments(pending)}"""
        )

    def compact(self) -> int:
        """Fold the segments into the file, in one transaction, and delete them; returns how
        many spans were folded in. A segment is recorded as folded in the same transaction,
        so a crash between the commit and the deletion never folds it in twice. A segment
        DuckDB cannot read (damaged outside Colony) is renamed ``<name>.bad`` with a warning
        and left out, so it never stops the others."""
        with self._lock:
            pending, folded = self._pending_segments()
            added = 0
            if pending:
                try:
                    added = self._fold(pending)
                except duckdb.InvalidInputException:
                    pending = [f for f in pending if self._readable(f)]
                    added = self._fold(pending) if pending else 0
            done = folded | {f.name for f in pending}
            for name in done:
                segments_folder(self.path).joinpath(name).unlink(missing_ok=True)
            if done:
                self._conn.execute(f"DELETE FROM {SEGMENTS} WHERE name IN ({_literals(done)})")
            self._sweep_partial()
            return added

    def _fold(self, segments: Sequence[Path]) -> int:
        self._conn.execute("BEGIN")
        try:
            (added,) = self._conn.execute(
                f"INSERT INTO spans SELECT * FROM {_read_segments(segments)}"
            ).fetchone() or (0,)
            rows = ", ".join(f"({_literals([f.name])})" for f in segments)
            self._conn.execute(f"INSERT INTO {SEGMENTS} VALUES {rows}")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return int(added)

    def _readable(self, segment: Path) -> bool:
        try:
            self._conn.execute(f"SELECT count(*) FROM {_read_segments([segment])}").fetchall()
        except duckdb.InvalidInputException as error:
            _log.warning("the trace segment %s is damaged, left out as .bad: %s", segment, error)
            segment.replace(segment.with_name(segment.name + ".bad"))
            return False
        return True

    def _sweep_partial(self) -> None:
        """Delete segments a writer began and never finished (it died) an hour ago or more."""
        stale = time.time() - PARTIAL_TTL_S
        for partial in segments_folder(self.path).glob(".*.partial"):
            try:
                if partial.stat().st_mtime < stale:
                    partial.unlink()
            except FileNotFoundError:  # another writer finished or swept it meanwhile
                pass

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read query over the ``spans`` table."""
        with self._lock:
            return self._conn.execute(sql, list(parameters)).fetchall()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()


class DuckDBSpanExporter(SpanExporter):
    """Exports spans to a :class:`TraceStore`: each batch as a segment beside the file (a
    JSON array of rows), folded into it every :data:`COMPACT_AFTER` segments or
    :data:`COMPACT_SPANS` spans, and at shutdown.

    Writing a segment costs ~5 µs a span and folding it in ~10 µs (~14 µs in all at batches
    of 1,000 spans), where opening the DuckDB file, inserting and checkpointing for every
    batch cost ~45 ms a batch (~80 µs a span at batches of 1,000). JSON, not Parquet:
    building Arrow arrays from Python lists makes pyarrow import pandas, ~0.17 s of CPU in a
    process that has not yet. The file is held only while segments are folded in, so
    ``colony dashboard`` reads a run while it runs (the segments too). When a reader holds
    the file, the segments wait for the next fold; nothing is dropped for that.
    """

    def __init__(self, path: str | os.PathLike[str], *, fold_every: int = COMPACT_AFTER) -> None:
        """``fold_every``: segments to gather before folding them into the file (1 writes the
        file for every batch, as this exporter did before it wrote segments)."""
        if isinstance(fold_every, bool) or not isinstance(fold_every, int) or fold_every < 1:
            raise ValueError(f"fold_every must be an int >= 1, got {fold_every!r}")
        self.path = Path(path)
        self.fold_every = fold_every
        TraceStore(self.path).close()  # create the file and its tables, or fail here
        self.segments = segments_folder(self.path)
        self.segments.mkdir(exist_ok=True)
        self._lock = threading.Lock()
        self._made = 0  # segments this exporter wrote
        self._unfolded = 0  # of them, not yet folded in
        self._unfolded_spans = 0
        self.written = 0  # spans written so far
        self.busy_s = 0.0  # CPU seconds of writing them (colony bench orchestration reads it)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write this batch as a segment; a failure is logged, never raised."""
        if not spans:
            return SpanExportResult.SUCCESS
        with self._lock:
            started = time.thread_time()
            try:
                self._made += 1
                name = f"{time.time_ns():020d}-{os.getpid()}-{id(self):x}-{self._made:06d}.json"
                partial = self.segments / f".{name}.partial"
                partial.write_bytes(span_segment(spans))
                partial.replace(self.segments / name)  # readers never see half a segment
            except Exception:
                _log.warning(
                    "could not write %d span(s) to %s", len(spans), self.path, exc_info=True
                )
                return SpanExportResult.FAILURE
            finally:
                self.busy_s += time.thread_time() - started
            self.written += len(spans)
            self._unfolded += 1
            self._unfolded_spans += len(spans)
            if self._unfolded >= self.fold_every or self._unfolded_spans >= COMPACT_SPANS:
                self._compact(patience_s=0.0)
            return SpanExportResult.SUCCESS

    def compact(self, patience_s: float = 10.0) -> bool:
        """Fold every segment into the file, waiting up to ``patience_s`` for readers to let
        go of it; False when it stayed busy (the segments are kept for the next time)."""
        with self._lock:
            return self._compact(patience_s)

    def _compact(self, patience_s: float) -> bool:
        deadline = time.monotonic() + patience_s
        while True:
            started = time.thread_time()
            try:
                store = TraceStore(self.path, threads=1)  # one thread: the run needs the rest
                try:
                    store.compact()
                finally:
                    store.close()
            except duckdb.IOException:  # a reader holds the file: fold them in later
                if time.monotonic() > deadline:
                    _log.info("%s is busy; its segments are kept for later", self.path)
                    return False
                time.sleep(0.05)
                continue
            except Exception:
                _log.warning("could not fold segments into %s", self.path, exc_info=True)
                return False
            finally:
                self.busy_s += time.thread_time() - started
            self._unfolded = self._unfolded_spans = 0
            return True

    def shutdown(self) -> None:
        """Fold the segments into the file, waiting up to 10 s for a reader to let go of it."""
        self.compact(patience_s=10.0)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing to do: every batch the exporter was given is in a segment already."""
        return True


@dataclass(frozen=True)
class OtlpTarget:
    """Where OTLP/HTTP sends a process's telemetry."""

    named: str  # the endpoint as the user gave it, for messages
    traces: str  # the URL spans are posted to
    metrics: str | None  # the URL metrics are posted to, None for none


def otlp_target(explicit: str | None = None) -> OtlpTarget | None:
    """The OTLP/HTTP destination: ``explicit``, else the standard environment variables.

    As the OTLP exporter specification has it: ``explicit`` and ``OTEL_EXPORTER_OTLP_ENDPOINT``
    are base URLs, to which ``/v1/traces`` and ``/v1/metrics`` are added (an explicit URL that
    already ends with ``/v1/traces`` is taken as the traces URL);
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` and ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` are used
    as given and win over the base. None when no traces URL results.
    """
    if explicit:
        base = explicit.rstrip("/").removesuffix("/v1/traces")
        return OtlpTarget(explicit, base + "/v1/traces", base + "/v1/metrics")
    base = _env("OTEL_EXPORTER_OTLP_ENDPOINT").rstrip("/")
    traces = _env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (base and base + "/v1/traces")
    if not traces:
        return None
    metrics = _env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or (base and base + "/v1/metrics")
    return OtlpTarget(_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or base, traces, metrics or None)


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _otlp_timeout(signal: str, problems: list[str]) -> float:
    """Seconds an export may take: ``OTEL_EXPORTER_OTLP_<SIGNAL>_TIMEOUT``, else
    ``OTEL_EXPORTER_OTLP_TIMEOUT`` (seconds, as the Python SDK reads them), else
    :data:`OTLP_TIMEOUT_S`. A value that is not a positive number is a problem, not an error."""
    for name in (f"OTEL_EXPORTER_OTLP_{signal}_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        if raw := _env(name):
            try:
                seconds = float(raw)
            except ValueError:
                seconds = -1.0
            if 0 < seconds < float("inf"):
                return seconds
            problem = f"{name}={raw!r} is not a positive number of seconds"
            problem += f"; using {OTLP_TIMEOUT_S:g}"
            if problem not in problems:  # traces and metrics read the same variable
                problems.append(problem)
            return OTLP_TIMEOUT_S
    return OTLP_TIMEOUT_S


def _malformed_url(endpoint: str) -> str | None:
    """What is wrong with ``endpoint`` as an OTLP/HTTP URL, or None if nothing is."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL such as http://127.0.0.1:4318"
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in 0-65535
    except ValueError as exc:
        return f"{exc}"
    return None


class _Routes(SpanProcessor):
    """Colony's processors on the process's tracer provider; :func:`configure` adds some and
    :meth:`Exporting.close` removes them again (a provider cannot drop a processor itself)."""

    def __init__(self) -> None:
        self._active: tuple[SpanProcessor, ...] = ()
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._active)

    def add(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._active = (*self._active, processor)

    def remove(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._active = tuple(p for p in self._active if p is not processor)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for processor in self._active:
            processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self._active:
            processor.on_end(span)

    def shutdown(self) -> None:
        for processor in self._active:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        _flush_arrivals()
        return all(p.force_flush(timeout_millis) for p in self._active)


_ROUTES: _Routes | None = None
_ROUTES_LOCK = threading.Lock()
_BEFORE_FLUSH: list[Callable[[], None]] = []


def before_flush(hook: Callable[[], None]) -> None:
    """Call ``hook`` whenever the exporters flush, before they do (the relay hands over the
    spans that replies brought and its thread has not yet)."""
    _BEFORE_FLUSH.append(hook)


def _flush_arrivals() -> None:
    for hook in _BEFORE_FLUSH:
        try:
            hook()
        except Exception:  # telemetry never breaks a run
            _log.warning("could not hand over relayed telemetry", exc_info=True)


def _routes(service_name: str) -> _Routes:
    """The process's :class:`_Routes`, installed on first use (with an SDK provider if the
    application has none)."""
    global _ROUTES
    with _ROUTES_LOCK:
        if _ROUTES is None:
            provider = trace.get_tracer_provider()
            if not isinstance(provider, TracerProvider):
                provider = ColonyTracerProvider(
                    resource=Resource.create({"service.name": service_name})
                )
                trace.set_tracer_provider(provider)
            _ROUTES = _Routes()
            provider.add_span_processor(_ROUTES)
        return _ROUTES


def active_routes() -> _Routes | None:
    """This process's exporters, when :func:`configure` installed any that are still open."""
    routes = _ROUTES
    return routes if routes is not None and routes.active else None


def exporting() -> bool:
    """Whether this process sends spans anywhere (then the actors it starts relay theirs)."""
    return active_routes() is not None


@dataclass
class Exporting:
    """The exporters one :func:`configure` call added."""

    processors: list[SpanProcessor]
    trace_store: Path | None
    otlp: str | None
    problems: list[str]  # destinations that could not be set up (the run goes on without)
    store_exporter: DuckDBSpanExporter | None = None  # what writes trace_store

    def close(self) -> None:
        """Flush the spans and stop these exporters (errors are logged, never raised)."""
        _flush_arrivals()
        meters = metrics.get_meter_provider()
        if self.otlp is not None and isinstance(meters, MeterProvider):
            try:
                meters.force_flush()
            except Exception:
                _log.warning("could not flush metrics to %s", self.otlp, exc_info=True)
        routes = _routes("colony")
        for processor in self.processors:
            routes.remove(processor)
            try:
                processor.force_flush()
                processor.shutdown()
            except Exception:
                _log.warning("could not flush spans to %s", processor, exc_info=True)


@contextmanager
def tracing(
    *,
    trace_store: str | os.PathLike[str] | None = None,
    otlp: str | None = None,
    service_name: str = "colony",
    metrics_too: bool = True,
) -> Iterator[Exporting | None]:
    """:func:`configure` for the block; on exit the spans are flushed and the exporters closed."""
    exporting = configure(
        trace_store=trace_store, otlp=otlp, service_name=service_name, metrics_too=metrics_too
    )
    try:
        yield exporting
    finally:
        if exporting is not None:
            exporting.close()


def _export_metrics(url: str, timeout: float, service_name: str) -> None:
    """Send this process's metrics over OTLP/HTTP too (the first endpoint a process is given:
    a meter provider takes its readers when it is made, once per process)."""
    if isinstance(metrics.get_meter_provider(), MeterProvider):
        return
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=url, timeout=timeout))
    resource = Resource.create({"service.name": service_name})
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader], resource=resource))


STORE_BATCH_SPANS = 8192
STORE_QUEUE_SPANS = 32768


def _store_batches() -> tuple[int | None, int | None]:
    """The trace store's batch and queue sizes: :data:`STORE_BATCH_SPANS` spans a batch
    (the SDK's default is 512), unless ``OTEL_BSP_MAX_EXPORT_BATCH_SIZE`` or
    ``OTEL_BSP_MAX_QUEUE_SIZE`` says otherwise. Each batch is a segment file (~1 ms of fixed
    cost), so fewer, larger batches cost less. A batch still goes out on the SDK's schedule
    (``OTEL_BSP_SCHEDULE_DELAY``, 5 s) when fewer spans have come."""
    if "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" in os.environ or "OTEL_BSP_MAX_QUEUE_SIZE" in os.environ:
        return None, None  # the SDK reads them
    return STORE_BATCH_SPANS, STORE_QUEUE_SPANS


def configure(
    *,
    trace_store: str | os.PathLike[str] | None = None,
    otlp: str | None = None,
    service_name: str = "colony",
    metrics_too: bool = True,
) -> Exporting | None:
    """Send this process's spans to the trace store and/or OTLP/HTTP.

    Args:
        trace_store: The DuckDB trace file, or None.
        otlp: An OTLP/HTTP base URL (``http://127.0.0.1:6006``: ``/v1/traces`` is added);
            None reads the standard ``OTEL_EXPORTER_OTLP_*`` variables (:func:`otlp_target`).
        service_name: ``service.name`` of the spans, when Colony installs the provider (an
            application's own SDK provider is kept, and the exporters are added to it).
        metrics_too: Also send the metrics (:mod:`telemetry._metrics`) to the OTLP endpoint.
            A process has one meter provider, made with its readers: the first endpoint
            given wins.

    Returns:
        What was added (close it to flush), or None when neither destination is given.
    """
    target = otlp_target(otlp)
    if trace_store is None and target is None:
        return None
    routes = _routes(service_name)
    processors: list[SpanProcessor] = []
    problems: list[str] = []
    if target is not None and (malformed := _malformed_url(target.traces)) is not None:
        problems.append(f"no OTLP export to {target.named!r}: {malformed}")
        target = None
    store_exporter: DuckDBSpanExporter | None = None
    if trace_store is not None:
        try:
            exporter = DuckDBSpanExporter(trace_store)
            batch, queue = _store_batches()
            processors.append(
                BatchSpanProcessor(exporter, max_queue_size=queue, max_export_batch_size=batch)
            )
            store_exporter = exporter
        except Exception as exc:  # telemetry never stops a run: say so and go on without
            problems.append(f"no trace store at {trace_store}: {type(exc).__name__}: {exc}")
    if target is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        timeout = _otlp_timeout("TRACES", problems)
        processors.append(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=target.traces, timeout=timeout))
        )
    for processor in processors:
        routes.add(processor)
    if target is not None and target.metrics is not None and metrics_too:
        if (malformed := _malformed_url(target.metrics)) is not None:
            problems.append(f"no OTLP metrics to {target.metrics!r}: {malformed}")
        else:
            _export_metrics(target.metrics, _otlp_timeout("METRICS", problems), service_name)
    for problem in problems:
        _log.warning("%s", problem)
    store = store_exporter.path if store_exporter is not None else None
    named = target.named if target is not None else None
    return Exporting(processors, store, named, problems, store_exporter)
